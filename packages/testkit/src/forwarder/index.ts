export { Forwarder, type ForwarderOptions } from './forwarder';
export { type Faults, readFaults, watchFaults, writeFaults } from './faults';
