import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STALL_BUCKETS_MS } from '../session/relay';
import { PATH_STATES } from '../state/transitions';
import { scrapedCounter, scrapedGauge } from './scraped';
import type { MetricsSnapshot } from './types';

/** A prom-client registry whose metrics are read from `snapshot()` at scrape time. */
export function createPrometheusRegistry(snapshot: () => MetricsSnapshot): Registry {
  const registry = new Registry();
  let current: MetricsSnapshot | undefined;
  // Take one snapshot per scrape, shared by every collector of that scrape.
  const read = () => {
    current ??= snapshot();
    queueMicrotask(() => {
      current = undefined;
    });
    return current;
  };
  const labels = ['path', 'provider'] as const;

  const pathGauge = (
    name: string,
    help: string,
    value: (p: MetricsSnapshot['paths'][number]) => number | undefined,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset();
        for (const path of read().paths) {
          const v = value(path);
          if (v !== undefined) this.set({ path: path.id, provider: path.provider }, v);
        }
      },
    });
  const pathCounter = (name: string, help: string, value: (p: MetricsSnapshot['paths'][number]) => number) =>
    new Counter({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset();
        for (const path of read().paths) this.inc({ path: path.id, provider: path.provider }, value(path));
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
      for (const path of read().paths) {
        for (const state of PATH_STATES) {
          this.set({ path: path.id, provider: path.provider, state }, path.state === state ? 1 : 0);
        }
      }
    },
  });
  pathGauge('tunnelmux_path_primary', 'Whether the path is the primary (1) or not (0).', (p) =>
    p.primary ? 1 : 0,
  );
  pathGauge('tunnelmux_path_priority', 'The path priority; lower is preferred.', (p) => p.priority);
  const latency = new Gauge({
    name: 'tunnelmux_path_latency_seconds',
    help: 'End-to-end probe latency over the recent window.',
    labelNames: [...labels, 'quantile'],
    registers: [registry],
    collect() {
      this.reset();
      for (const path of read().paths) {
        const l = path.latencyMs;
        for (const [quantile, value] of [
          ['0.5', l.p50],
          ['0.95', l.p95],
          ['0.99', l.p99],
        ] as const) {
          if (value !== undefined)
            this.set({ path: path.id, provider: path.provider, quantile }, value / 1000);
        }
      }
    },
  });
  // Quantiles over a window are a summary to Prometheus: `quantile` is reserved for summaries, and promtool
  // refuses it on a gauge. prom-client's Summary computes its own quantiles, so this gauge is typed as one.
  const readLatency = latency.get.bind(latency);
  latency.get = async () => ({ ...(await readLatency()), type: 'summary' as never });
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

  const managerCounter = (name: string, help: string, value: (s: MetricsSnapshot) => number) =>
    scrapedCounter(registry, name, help, () => value(read()));
  managerCounter(
    'tunnelmux_failovers_total',
    'Primary switches caused by a failing primary.',
    (s) => s.failovers,
  );
  managerCounter(
    'tunnelmux_primary_changes_total',
    'Primary switches for any reason.',
    (s) => s.primaryChanges,
  );
  managerCounter(
    'tunnelmux_no_healthy_path_seconds_total',
    'Time spent with no healthy path.',
    (s) => s.noHealthyPathMs / 1000,
  );
  managerCounter(
    'tunnelmux_refused_connections_total',
    'Client connections refused for want of a path.',
    (s) => s.refusedConnections,
  );
  managerCounter(
    'tunnelmux_events_dropped_total',
    'Events dropped by slow subscribers.',
    (s) => s.eventsDropped,
  );
  sessionMetrics(registry, read);
  return registry;
}

/** Session figures, registered always but empty unless the snapshot carries sessions (resume configured). */
function sessionMetrics(registry: Registry, read: () => MetricsSnapshot): void {
  const sessions = () => read().sessions;
  scrapedGauge(
    registry,
    'tunnelmux_sessions_live',
    'Resumable sessions open through the front door.',
    () => sessions()?.live,
  );
  const counter = (
    name: string,
    help: string,
    value: (s: NonNullable<MetricsSnapshot['sessions']>) => number,
  ) =>
    scrapedCounter(registry, name, help, () => {
      const s = sessions();
      return s && value(s);
    });
  counter('tunnelmux_session_resumes_total', 'Sessions resumed onto a new carrier.', (s) => s.resumes);
  counter(
    'tunnelmux_session_replayed_bytes_total',
    'Bytes sent again after resumes.',
    (s) => s.replayedBytes,
  );
  new Counter({
    name: 'tunnelmux_sessions_lost_total',
    help: 'Sessions ended without a clean close, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(sessions()?.lost ?? {})) this.inc({ reason }, count);
    },
  });
}

/** The resume-stall histogram, fed by the manager with each `session-resumed` event's stall. */
export function sessionStallHistogram(registry: Registry): Histogram {
  return new Histogram({
    name: 'tunnelmux_session_resume_stall_seconds',
    help: 'Time from losing a carrier to the verified resume.',
    buckets: STALL_BUCKETS_MS.map((ms) => ms / 1000),
    registers: [registry],
  });
}
