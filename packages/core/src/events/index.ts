// A light entry point: every event and metrics type, without loading the engine (tools validate `--type` here).

export type { LatencyStats, MetricsSnapshot, PathMetrics, SessionMetrics } from '../metrics/types';
export { PATH_STATES, type PathState } from '../state/transitions';
// The bus itself, for hosts other than a Manager (a relay) that serve the same event stream.
export { EventBus, type SubscribeOptions, type Subscription } from './event-bus';
export {
  EVENT_TYPES,
  type EventInput,
  type EventOf,
  type EventType,
  type PrimaryChangeReason,
  type ReloadFailure,
  type SessionLostReason,
  type TunnelmuxEvent,
} from './types';
