import { monotonicNow } from '../async/monotonic';
import type { PathSpec } from '../config/schema';
import type { PathCounters } from '../metrics/path-counters';
import type { LatencyStats, PathMetrics } from '../metrics/types';
import { formatTarget } from '../net/tcp';
import type { CheckResult, Tunnel, TunnelEnd } from '../provider/types';
import type { PathState } from '../state/transitions';

/** Everything `status` reports about one path. */
export interface PathStatus {
  id: string;
  provider: string;
  mode: 'access' | 'expose';
  state: PathState;
  priority: number;
  primary: boolean;
  pinned: boolean;
  target: string;
  protocol: 'ssh' | 'tcp';
  pid?: number;
  endpoint?: string;
  publicUrl?: string;
  /** The latest probe latency. */
  latencyMs?: number;
  latency: LatencyStats;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  bytesIn: number;
  bytesOut: number;
  activeConnections: number;
  totalConnections: number;
  failedDials: number;
  restarts: number;
  uptimeMs: number;
  /** Epoch ms of the last state change. */
  since: number;
  /** Epoch ms of the last traffic or successful probe. */
  lastActive?: number;
  lastError?: string;
  lastExit?: TunnelEnd;
  /** Epoch ms of the next reopen attempt while reconnecting. */
  nextAttemptAt?: number;
  /** The provider's own health hint. */
  hint?: CheckResult;
}

/** What the projection reads from a path runner. */
export interface ProjectedPath {
  readonly spec: PathSpec;
  readonly provider: { name: string };
  readonly state: PathState;
  readonly priority: number;
  readonly target: { host: string; port: number };
  readonly protocol: 'ssh' | 'tcp';
  readonly tunnel?: Tunnel;
  readonly publicUrl?: string;
  readonly counters: PathCounters;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  readonly upSince?: number;
  readonly since: number;
  readonly lastError?: string;
  readonly lastExit?: TunnelEnd;
  readonly nextAttemptAt?: number;
  readonly hint?: CheckResult;
}

/** The one projection of a path's state and figures; `metrics` is a view of it. */
export function projectPath(
  path: ProjectedPath,
  role: { primary: boolean; pinned: boolean },
  now = monotonicNow(),
): PathStatus {
  const c = path.counters;
  const latency = c.latencyStats();
  return {
    id: path.spec.id,
    provider: path.provider.name,
    mode: path.spec.mode,
    state: path.state,
    priority: path.priority,
    primary: role.primary,
    pinned: role.pinned,
    target: formatTarget(path.target),
    protocol: path.protocol,
    pid: path.tunnel?.pid,
    endpoint: path.tunnel?.endpoint,
    publicUrl: path.publicUrl ?? path.tunnel?.publicUrl,
    latencyMs: latency.last,
    latency,
    consecutiveFailures: path.consecutiveFailures,
    consecutiveSuccesses: path.consecutiveSuccesses,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    activeConnections: c.activeConnections,
    totalConnections: c.totalConnections,
    failedDials: c.failedDials,
    restarts: c.restarts,
    uptimeMs: path.upSince === undefined ? 0 : now - path.upSince,
    since: path.since,
    lastActive: c.lastActive,
    lastError: path.lastError,
    lastExit: path.lastExit,
    nextAttemptAt: path.state === 'reconnecting' ? path.nextAttemptAt : undefined,
    hint: path.hint,
  };
}

/** The figures of a path's status, in the shape of the metrics snapshot. */
export function metricsOf(status: PathStatus): PathMetrics {
  return {
    id: status.id,
    provider: status.provider,
    state: status.state,
    priority: status.priority,
    primary: status.primary,
    latencyMs: status.latency,
    bytesIn: status.bytesIn,
    bytesOut: status.bytesOut,
    activeConnections: status.activeConnections,
    totalConnections: status.totalConnections,
    failedDials: status.failedDials,
    uptimeMs: status.uptimeMs,
    consecutiveFailures: status.consecutiveFailures,
    restarts: status.restarts,
    lastActive: status.lastActive,
  };
}
