// @tunnelmux/core: what a user of the library and a provider author need, and no more. Details live on subpaths:
// `/events` (every event and metrics type), `/config` (the zod schemas a config file composes), `/provider` (the
// provider contract in full, for provider kits and for hosts that load providers), `/testing` (the contract suite).

// Errors: `[tunnelmux] [provider]`-prefixed, naming the bad value, keeping the cause.
export { ConfigError, ProviderError, StateError, TunnelmuxError } from './errors';
// What a manager reports: its typed events and its metrics snapshot.
export type { TunnelmuxEvent } from './events/types';
export type { FrontDoor, FrontDoorOptions } from './front-door/front-door';
export type { LiveSession, ResumeSettings } from './front-door/resume-carrier';
// Run paths with failover: the manager, its status, and the front door it opens.
export {
  createManager,
  Manager,
  type ManagerConfig,
  type ManagerStatus,
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
  ExitInfo,
  LogLevel,
  OpenContext,
  Provider,
  Target,
  Tunnel,
} from './provider/types';
