// A light entry point: every event and metrics type, without loading the engine (tools validate `--type` here).

export type { LatencyStats, MetricsSnapshot, PathMetrics, SessionMetrics } from '../metrics/types';
export { PATH_STATES, type PathState } from '../state/transitions';
export type { SubscribeOptions, Subscription } from './event-bus';
export {
  EVENT_TYPES,
  type EventOf,
  type EventType,
  type PrimaryChangeReason,
  type SessionLostReason,
  type TunnelmuxEvent,
} from './types';
