import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STALL_BUCKETS_MS } from '../session/relay';
import { PATH_STATES } from '../state/transitions';
import type { MetricsSnapshot, PathMetrics } from './types';

/** The service label of a snapshot: its own, or 'default' for a manager that never named one. */
const serviceOf = (snapshot: MetricsSnapshot) => snapshot.service ?? 'default';

/**
 * A prom-client registry whose metrics are read from `snapshots()` at scrape time: one snapshot per service, so a
 * manager passes its own and a service group passes every manager's, and each family is written once.
 */
export function createPrometheusRegistry(snapshots: () => readonly MetricsSnapshot[]): Registry {
  const registry = new Registry();
  let current: readonly MetricsSnapshot[] | undefined;
  // Take one set of snapshots per scrape, shared by every collector of that scrape.
  const read = () => {
    current ??= snapshots();
    queueMicrotask(() => {
      current = undefined;
    });
    return current;
  };
  const labels = ['service', 'path', 'provider'] as const;
  type PathLabels = Record<(typeof labels)[number], string>;
  const eachPath = (visit: (series: PathLabels, path: PathMetrics) => void) => {
    for (const snapshot of read()) {
      const service = serviceOf(snapshot);
      for (const path of snapshot.paths) visit({ service, path: path.id, provider: path.provider }, path);
    }
  };

  const pathGauge = (name: string, help: string, value: (p: PathMetrics) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset();
        eachPath((series, path) => {
          const v = value(path);
          if (v !== undefined) this.set(series, v);
        });
      },
    });
  const pathCounter = (name: string, help: string, value: (p: PathMetrics) => number) =>
    new Counter({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset();
        eachPath((series, path) => this.inc(series, value(path)));
      },
    });

  pathGauge('tunnelmux_path_up', 'Whether the path is connected and healthy (1) or not (0).', (p) =>
    p.state === 'connected' ? 1 : 0,
  );
  new Gauge({
    name: 'tunnelmux_path_state',
    help: 'The path state, one series per state set to 1 for the current one.',
    labelNames: [...labels, 'state'],
    registers: [registry],
    collect() {
      this.reset();
      eachPath((series, path) => {
        for (const state of PATH_STATES) this.set({ ...series, state }, path.state === state ? 1 : 0);
      });
    },
  });
  pathGauge('tunnelmux_path_primary', 'Whether the path is the primary (1) or not (0).', (p) =>
    p.primary ? 1 : 0,
  );
  pathGauge('tunnelmux_path_priority', 'The path priority; lower is preferred.', (p) => p.priority);
  latencySummary(registry, eachPath);
  pathGauge('tunnelmux_path_last_latency_seconds', 'The latest end-to-end probe latency.', (p) =>
    p.latencyMs.last === undefined ? undefined : p.latencyMs.last / 1000,
  );
  pathCounter(
    'tunnelmux_path_bytes_in_total',
    'Bytes received from the path (towards clients).',
    (p) => p.bytesIn,
  );
  pathCounter(
    'tunnelmux_path_bytes_out_total',
    'Bytes sent into the path (from clients).',
    (p) => p.bytesOut,
  );
  pathGauge(
    'tunnelmux_path_active_connections',
    'Client connections open through the path.',
    (p) => p.activeConnections,
  );
  pathCounter(
    'tunnelmux_path_connections_total',
    'Client connections carried by the path.',
    (p) => p.totalConnections,
  );
  pathCounter(
    'tunnelmux_path_failed_dials_total',
    'Dials through the path that failed.',
    (p) => p.failedDials,
  );
  pathCounter('tunnelmux_path_restarts_total', 'Times the path was reopened.', (p) => p.restarts);
  pathGauge(
    'tunnelmux_path_uptime_seconds',
    'Seconds since the path last came up.',
    (p) => p.uptimeMs / 1000,
  );
  pathGauge(
    'tunnelmux_path_consecutive_failures',
    'Consecutive failed probes.',
    (p) => p.consecutiveFailures,
  );

  // Service-wide figures: one series per service, so sums across services stay meaningful.
  const serviceCounter = (name: string, help: string, value: (s: MetricsSnapshot) => number | undefined) =>
    new Counter({
      name,
      help,
      labelNames: ['service'],
      registers: [registry],
      collect() {
        this.reset();
        for (const snapshot of read()) {
          const v = value(snapshot);
          if (v !== undefined) this.inc({ service: serviceOf(snapshot) }, v);
        }
      },
    });
  serviceCounter(
    'tunnelmux_failovers_total',
    'Primary switches caused by a failing primary.',
    (s) => s.failovers,
  );
  serviceCounter(
    'tunnelmux_primary_changes_total',
    'Primary switches for any reason.',
    (s) => s.primaryChanges,
  );
  serviceCounter(
    'tunnelmux_no_healthy_path_seconds_total',
    'Time spent with no healthy path.',
    (s) => s.noHealthyPathMs / 1000,
  );
  serviceCounter(
    'tunnelmux_refused_connections_total',
    'Client connections refused for want of a path.',
    (s) => s.refusedConnections,
  );
  serviceCounter(
    'tunnelmux_events_dropped_total',
    'Events dropped by slow subscribers.',
    (s) => s.eventsDropped,
  );
  sessionMetrics(registry, read, serviceCounter);
  return registry;
}

/**
 * Probe latency as a Prometheus summary: quantiles over the recent window, `_sum` and `_count` over every probe
 * (the way client libraries' summaries work). A gauge may not carry a `quantile` label; promtool says so.
 */
function latencySummary(
  registry: Registry,
  eachPath: (visit: (series: Record<string, string>, path: PathMetrics) => void) => void,
): void {
  const name = 'tunnelmux_path_latency_seconds';
  class LatencySummary extends Gauge {
    override async get() {
      const values: Array<{ value: number; labels: Record<string, string>; metricName?: string }> = [];
      eachPath((series, path) => {
        const l = path.latencyMs;
        for (const [quantile, value] of [
          ['0.5', l.p50],
          ['0.95', l.p95],
          ['0.99', l.p99],
        ] as const) {
          if (value !== undefined) values.push({ labels: { ...series, quantile }, value: value / 1000 });
        }
        values.push({ metricName: `${name}_sum`, labels: series, value: l.sumMs / 1000 });
        values.push({ metricName: `${name}_count`, labels: series, value: l.total });
      });
      return { ...(await super.get()), type: 'summary' as never, values };
    }
  }
  new LatencySummary({
    name,
    help: 'End-to-end probe latency: quantiles over the recent window, sum and count over every probe.',
    labelNames: ['service', 'path', 'provider', 'quantile'],
    registers: [registry],
  });
}

/** Session figures, registered always but empty unless a snapshot carries sessions (resume configured). */
function sessionMetrics(
  registry: Registry,
  read: () => readonly MetricsSnapshot[],
  serviceCounter: (name: string, help: string, value: (s: MetricsSnapshot) => number | undefined) => Counter,
): void {
  new Gauge({
    name: 'tunnelmux_sessions_live',
    help: 'Resumable sessions open through the front door.',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      this.reset();
      for (const snapshot of read()) {
        if (snapshot.sessions) this.set({ service: serviceOf(snapshot) }, snapshot.sessions.live);
      }
    },
  });
  serviceCounter(
    'tunnelmux_session_resumes_total',
    'Sessions resumed onto a new carrier.',
    (s) => s.sessions?.resumes,
  );
  serviceCounter(
    'tunnelmux_session_replayed_bytes_total',
    'Bytes sent again after resumes.',
    (s) => s.sessions?.replayedBytes,
  );
  new Counter({
    name: 'tunnelmux_sessions_lost_total',
    help: 'Sessions ended without a clean close, by reason.',
    labelNames: ['service', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const snapshot of read()) {
        for (const [reason, count] of Object.entries(snapshot.sessions?.lost ?? {})) {
          this.inc({ service: serviceOf(snapshot), reason }, count);
        }
      }
    },
  });
}

/** The resume-stall histogram, fed with each `session-resumed` event's stall and labelled by service. */
export function sessionStallHistogram(registry: Registry): Histogram<'service'> {
  return new Histogram({
    name: 'tunnelmux_session_resume_stall_seconds',
    help: 'Time from losing a carrier to the verified resume.',
    labelNames: ['service'],
    buckets: STALL_BUCKETS_MS.map((ms) => ms / 1000),
    registers: [registry],
  });
}
