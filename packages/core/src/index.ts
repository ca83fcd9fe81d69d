// @tunnelmux/core: what a user of the library and a provider author need, and no more. Details live on subpaths:
// `/events` (every event and metrics type), `/config` (the zod schemas a config file composes), `/provider` (the
// provider contract in full, for provider kits and for hosts that load providers), `/testing` (the contract suite),
// `/services` (several services in one process: ServiceGroup).

// Errors: `[tunnelmux] [provider]`-prefixed, naming the bad value, keeping the cause.
export { ConfigError, ProviderError, StateError, TunnelmuxError } from './errors';
// What a manager reports: its typed events and its metrics snapshot.
export type { TunnelmuxEvent } from './events/types';
export type { FrontDoor, FrontDoorOptions } from './front-door/front-door';
// Run paths with failover: the manager, its status, and the front door it opens.
export type { DrainingPath, DrainResult } from './manager/drains';
export {
  createManager,
  Manager,
  type ManagerConfig,
  type ManagerStatus,
  type Reconfiguration,
  type ReplaceResult,
  type StartResult,
} from './manager/manager';
export type { PathStatus } from './manager/path-status';
export type { MetricsSnapshot } from './metrics/types';

// Write a provider: define it, open tunnels, check its options the way core will.
export { defineProvider, validateOptions } from './provider/define-provider';
export type {
  CheckResult,
  DetectContext,
  DetectResult,
  LogLevel,
  OpenContext,
  Provider,
  Target,
  Tunnel,
  TunnelEnd,
} from './provider/types';
