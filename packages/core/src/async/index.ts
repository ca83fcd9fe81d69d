// One small module per async primitive; everything that waits in core and in providers uses these.
export { abortable, abortReason } from './abortable';
export { type Deadline, deadline } from './deadline';
export { type Deferred, deferred } from './deferred';
export { type SleepOutcome, sleep } from './sleep';
