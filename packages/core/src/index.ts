export { defineProvider, isProvider, validateOptions } from './provider/define-provider';
export {
  API_VERSION,
  PROVIDER_TAG,
  type BinarySpec,
  type CheckResult,
  type DetectContext,
  type DetectResult,
  type ExitInfo,
  type Logger,
  type LogLevel,
  type Mode,
  type OpenContext,
  type OptionsSchema,
  type Provider,
  type ProviderDefinition,
  type ProviderHelpers,
  type Target,
  type Tunnel,
} from './provider/types';
export type { ChildHandle, ChildLine, SpawnOptions } from './process/child';
export {
  createManager,
  Manager,
  type ManagerConfig,
  type ManagerStatus,
  type Route,
  type StartResult,
} from './manager/manager';
export type { PathStatus } from './manager/path-runner';
export { type PathState, PATH_STATES, TRANSITIONS } from './state/transitions';
export type { EventType, EventOf, PrimaryChangeReason, TunnelmuxEvent } from './events/types';
export { EVENT_TYPES } from './events/types';
export type { Subscription, SubscribeOptions } from './events/event-bus';
export type { LatencyStats, MetricsSnapshot, PathMetrics } from './metrics/types';
export type { FailoverInput, FailoverSettings, PathSpecInput } from './config/schema';
export { parseDuration } from './config/duration';
export {
  ConfigError,
  describeValue,
  ProviderError,
  StateError,
  TunnelmuxError,
  type TunnelmuxErrorOptions,
} from './errors';
export type { FrontDoor, FrontDoorConnection, FrontDoorOptions } from './front-door/front-door';
