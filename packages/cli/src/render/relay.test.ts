import { describe, expect, it } from 'vitest';
import type { RelayStatus } from '../control/relay-instance';
import { relayStatusText } from './relay';

const base: RelayStatus = {
  kind: 'relay',
  name: 'relay',
  pid: 42,
  listen: '127.0.0.1:7022',
  target: '127.0.0.1:22',
  windowMs: 60_000,
  startedAt: 1_000,
  sessions: [],
  totals: {
    opened: 3,
    live: 2,
    detached: 1,
    resumed: 4,
    replayedBytes: 2048,
    lost: { 'window-expired': 1, 'too-many-detached': 0, 'relay-stopped': 0 },
    keyRefusals: 5,
    handshakesRefused: 0,
  },
};

describe('relayStatusText', () => {
  it('says where the relay listens, each live session, and its totals', () => {
    const text = relayStatusText(
      {
        ...base,
        sessions: [
          {
            id: 'aabbccdd',
            peer: '127.0.0.1:5000',
            attached: true,
            since: 61_000,
            bytesIn: 10,
            bytesOut: 20,
            resumes: 0,
          },
          {
            id: '11223344',
            peer: '127.0.0.1:5001',
            attached: false,
            since: 1_000,
            detachedForMs: 2_500,
            bytesIn: 2048,
            bytesOut: 0,
            resumes: 2,
          },
        ],
      },
      121_000,
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('relay relay (pid 42) on 127.0.0.1:7022 -> 127.0.0.1:22, window 1m, up 2m');
    expect(text).toMatch(/aabbccdd\s+attached\s+127\.0\.0\.1:5000\s+1m ago\s+10 B\/20 B\s+0/);
    expect(text).toMatch(/11223344\s+detached 2\.5s\s+127\.0\.0\.1:5001\s+2m ago\s+2\.0 KiB\/0 B\s+2/);
    expect(text).toContain('sessions: 2 live (1 detached), 3 opened, 4 resumed (2.0 KiB replayed)');
    expect(text).toContain('lost: window-expired 1, too-many-detached 0, relay-stopped 0');
    expect(text).toContain('refused: 5 wrong key, 0 over the handshake limit');
  });

  it('says so when no session is live, and escapes control characters in the name', () => {
    const text = relayStatusText({ ...base, name: 'r\u001b[2J' }, 1_000);
    expect(text).toContain('no live sessions');
    expect(text).not.toContain('\u001b[2J');
  });
});
