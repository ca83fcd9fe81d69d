export { type Faults, readFaults, watchFaults, writeFaults } from './faults';
export { Forwarder, type ForwarderOptions } from './forwarder';
