import { Counter, Histogram, Registry } from 'prom-client';
import { scrapedCounter, scrapedGauge } from '../metrics/scraped';
import { type RelayEvent, type RelayMetrics, STALL_BUCKETS_MS } from './relay';

/**
 * Prometheus metrics of a relay: gauges and counters read from `metrics()` at scrape time, and a resume-stall
 * histogram fed by `observe(event)` (pass it the relay's events).
 */
export function createRelayPrometheus(metrics: () => RelayMetrics): {
  registry: Registry;
  observe(event: RelayEvent): void;
} {
  const registry = new Registry();
  const gauge = (name: string, help: string, value: (m: RelayMetrics) => number) =>
    scrapedGauge(registry, name, help, () => value(metrics()));
  const counter = (name: string, help: string, value: (m: RelayMetrics) => number) =>
    scrapedCounter(registry, name, help, () => value(metrics()));
  gauge(
    'tunnelmux_relay_sessions_live',
    'Sessions the relay holds, attached or waiting for a resume.',
    (m) => m.sessionsLive,
  );
  gauge('tunnelmux_relay_sessions_detached', 'Sessions waiting for a resume.', (m) => m.sessionsDetached);
  counter('tunnelmux_relay_sessions_opened_total', 'Sessions opened.', (m) => m.sessionsOpened);
  counter('tunnelmux_relay_resumes_total', 'Verified resumes.', (m) => m.resumes);
  counter('tunnelmux_relay_replayed_bytes_total', 'Bytes sent again after resumes.', (m) => m.replayedBytes);
  counter('tunnelmux_relay_key_refusals_total', 'Handshakes refused for a wrong key.', (m) => m.keyRefusals);
  new Counter({
    name: 'tunnelmux_relay_sessions_lost_total',
    help: 'Sessions ended without a clean close, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(metrics().sessionsLost)) this.inc({ reason }, count);
    },
  });
  const stall = new Histogram({
    name: 'tunnelmux_relay_resume_stall_seconds',
    help: 'Time from the relay noticing a lost carrier to the verified resume.',
    buckets: STALL_BUCKETS_MS.map((ms) => ms / 1000),
    registers: [registry],
  });
  return {
    registry,
    observe(event) {
      if (event.type === 'session-resumed') stall.observe(event.stallMs / 1000);
    },
  };
}
