export { duration as durationSchema, parseDuration } from './config/duration';
export {
  type FailoverInput,
  type FailoverSettings,
  failoverSchema,
  type PathSpecInput,
  pathSchema,
  protocol as protocolSchema,
  target as targetSchema,
} from './config/schema';
export {
  ConfigError,
  describeValue,
  ProviderError,
  StateError,
  TunnelmuxError,
  type TunnelmuxErrorOptions,
} from './errors';
export type { SubscribeOptions, Subscription } from './events/event-bus';
export type { EventOf, EventType, PrimaryChangeReason, TunnelmuxEvent } from './events/types';
export { EVENT_TYPES } from './events/types';
export type { FrontDoor, FrontDoorConnection, FrontDoorOptions } from './front-door/front-door';
export {
  createManager,
  Manager,
  type ManagerConfig,
  type ManagerStatus,
  type Route,
  type StartResult,
} from './manager/manager';
export type { PathStatus } from './manager/path-runner';
export type { LatencyStats, MetricsSnapshot, PathMetrics } from './metrics/types';
export type { ChildHandle, ChildLine, SpawnOptions } from './process/child';
export type { ExitInfo } from './process/exit';
export { defineProvider, isProvider, validateOptions } from './provider/define-provider';
export { detectProvider } from './provider/detect-provider';
export {
  API_VERSION,
  type BaseOpenContext,
  type BinarySpec,
  type CheckResult,
  type DetectContext,
  type DetectResult,
  type LineParser,
  type Logger,
  type LogLevel,
  type Mode,
  type ModeDefinition,
  type OpenContext,
  type OptionsSchema,
  PROVIDER_TAG,
  type Provider,
  type ProviderDefinition,
  type ProviderHelpers,
  type Target,
  type Tunnel,
  type TunnelEnd,
} from './provider/types';
export { PATH_STATES, type PathState, TRANSITIONS } from './state/transitions';
