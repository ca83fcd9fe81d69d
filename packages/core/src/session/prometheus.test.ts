import { describe, expect, it } from 'vitest';
import { createRelayPrometheus } from './prometheus';
import type { RelayMetrics } from './relay';

describe('relay Prometheus metrics', () => {
  it('exports live sessions, resumes, replayed bytes, losses by reason and a stall histogram', async () => {
    const snapshot: RelayMetrics = {
      sessionsLive: 3,
      sessionsDetached: 1,
      sessionsOpened: 7,
      resumes: 2,
      replayedBytes: 4096,
      keyRefusals: 5,
      handshakesRefused: 0,
      sessionsLost: { 'window-expired': 1, 'too-many-detached': 0, 'relay-stopped': 0 },
      stallMs: { buckets: [], sum: 0, count: 0 },
    };
    const { registry, observe } = createRelayPrometheus(() => snapshot);
    observe({ type: 'session-resumed', session: 'x', peer: 'p', stallMs: 180, replayedBytes: 10 });
    const text = await registry.metrics();
    expect(text).toContain('tunnelmux_relay_sessions_live 3');
    expect(text).toContain('tunnelmux_relay_resumes_total 2');
    expect(text).toContain('tunnelmux_relay_replayed_bytes_total 4096');
    expect(text).toContain('tunnelmux_relay_sessions_lost_total{reason="window-expired"} 1');
    expect(text).toContain('tunnelmux_relay_resume_stall_seconds_bucket{le="0.1"} 0');
    expect(text).toContain('tunnelmux_relay_resume_stall_seconds_bucket{le="0.25"} 1');
  });
});
