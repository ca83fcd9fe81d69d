import type { PathState } from '../state/transitions';

/** Latency figures in milliseconds; undefined until measured. */
export interface LatencyStats {
  last?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  /** Samples in the recent window the percentiles are taken over. */
  samples: number;
  /** Samples since the path was added, and their sum in ms (a Prometheus summary's `_count` and `_sum`). */
  total: number;
  sumMs: number;
}

/** One path's figures. */
export interface PathMetrics {
  id: string;
  provider: string;
  state: PathState;
  priority: number;
  primary: boolean;
  latencyMs: LatencyStats;
  bytesIn: number;
  bytesOut: number;
  activeConnections: number;
  totalConnections: number;
  failedDials: number;
  /** Milliseconds since the path last came up; 0 while down. */
  uptimeMs: number;
  consecutiveFailures: number;
  restarts: number;
  /** Epoch ms of the last traffic or successful probe. */
  lastActive?: number;
}

/** Manager-wide figures plus every path. */
export interface MetricsSnapshot {
  /** The service these figures belong to ('default' for the single-service form). */
  service?: string;
  time: number;
  primary?: string;
  failovers: number;
  primaryChanges: number;
  /** Total milliseconds spent with no healthy path, including the current stretch. */
  noHealthyPathMs: number;
  /** Client connections refused because no path could carry them. */
  refusedConnections: number;
  eventsDropped: number;
  paths: PathMetrics[];
  /** Resumable sessions through the front door; present only when `resume` is configured. */
  sessions?: SessionMetrics;
}

/** The front door's resumable sessions (docs/sessions.md). */
export interface SessionMetrics {
  live: number;
  resumes: number;
  replayedBytes: number;
  /** Sessions that ended without a clean close, by reason. */
  lost: Record<string, number>;
}
