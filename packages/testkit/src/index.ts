export { Forwarder, type ForwarderOptions, type Faults, readFaults, watchFaults, writeFaults } from './forwarder';
export { fakeBinDir, fakeEnv, testkitRoot } from './paths';
