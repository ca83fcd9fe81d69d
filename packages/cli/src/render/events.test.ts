import type { MetricsSnapshot, TunnelmuxEvent } from '@tunnelmux/core';
import type { EventType } from '@tunnelmux/core/events';
import { EVENT_TYPES } from '@tunnelmux/core/events';
import { describe, expect, it } from 'vitest';
import { describeEvent, formatEvent } from './events';

const at = { time: Date.UTC(2026, 0, 1, 4, 15, 47), seq: 1 };
const path = { ...at, pathId: 'cf', provider: 'cloudflare' };

// One of each kind; typed so that a new event type in core fails to compile here until it has a sample.
const SAMPLES: { [T in EventType]: Extract<TunnelmuxEvent, { type: T }> } = {
  'state-change': { ...path, type: 'state-change', from: 'connecting', to: 'connected', reason: 'opened' },
  connected: { ...path, type: 'connected', endpoint: '127.0.0.1:40123', pid: 42 },
  disconnected: { ...path, type: 'disconnected', reason: 'process exited' },
  reconnecting: { ...path, type: 'reconnecting', attempt: 2, delayMs: 1500, reason: 'process exited' },
  probe: { ...path, type: 'probe', ok: true, latencyMs: 12, consecutiveFailures: 0 },
  'dial-failed': { ...path, type: 'dial-failed', reason: 'ECONNREFUSED', source: 'front-door' },
  'public-url': { ...path, type: 'public-url', publicUrl: 'tcp://0.tcp.ngrok.io:12345' },
  log: { ...path, type: 'log', level: 'warn', message: 'retrying' },
  'path-draining': { ...path, type: 'path-draining', activeConnections: 2, timeoutMs: 30_000 },
  'path-drained': { ...path, type: 'path-drained', closedConnections: 0, waitedMs: 1200 },
  'config-reloaded': {
    ...at,
    type: 'config-reloaded',
    added: ['ssh/ts'],
    removed: ['web'],
    changed: [],
    failed: [{ item: 'db/ngrok', reason: 'ngrok is not installed' }],
  },
  'primary-change': { ...at, type: 'primary-change', from: 'a', to: 'cf', reason: 'failover' },
  failover: { ...at, type: 'failover', from: 'a', to: 'cf', reason: 'a is down' },
  'no-healthy-path': { ...at, type: 'no-healthy-path', paths: 2 },
  'healthy-path-restored': { ...at, type: 'healthy-path-restored', pathId: 'cf', downForMs: 3000 },
  'connection-refused': {
    ...at,
    type: 'connection-refused',
    reason: 'no healthy path',
    client: '127.0.0.1:5',
  },
  warning: {
    ...at,
    type: 'warning',
    message: 'front door listens on 0.0.0.0:22330: every interface can reach it',
  },
  'hook-failed': {
    ...at,
    type: 'hook-failed',
    hook: 'webhook https://hooks.example/***',
    on: 'failover',
    reason: 'HTTP 500 after 3 attempts',
    count: 1,
  },
  metrics: {
    ...at,
    type: 'metrics',
    snapshot: { primary: 'cf', failovers: 1 } as MetricsSnapshot,
  },
  'session-resumed': {
    ...at,
    type: 'session-resumed',
    session: '9f2c41d0',
    from: 'a',
    to: 'cf',
    stallMs: 240,
    replayedBytes: 8192,
  },
  'session-lost': {
    ...at,
    type: 'session-lost',
    session: '9f2c41d0',
    reason: 'key-refused',
    message: 'the relay could not prove the shared key',
  },
  error: { ...at, type: 'error', pathId: 'cf', message: 'auth failed', fatal: true, code: 'ERR_PROVIDER' },
};

describe('event lines', () => {
  for (const type of EVENT_TYPES) {
    it(`renders ${type} as words, not JSON`, () => {
      const sample = SAMPLES[type];
      expect(sample, `no sample for event type ${type}`).toBeDefined();
      const line = describeEvent(sample);
      expect(line).not.toMatch(/[{}"]/);
      expect(line).not.toContain(`type`);
      expect(line.length).toBeGreaterThan(3);
    });
  }

  it('renders a warning with its message, after the time', () => {
    expect(formatEvent(SAMPLES.warning)).toBe(
      '04:15:47 warning: front door listens on 0.0.0.0:22330: every interface can reach it',
    );
  });

  it('renders an event type it does not know (from a newer instance) as words', () => {
    const future = {
      ...at,
      type: 'path-weighed',
      weight: 's1',
      pathId: 'cf',
    } as unknown as TunnelmuxEvent;
    expect(describeEvent(future)).toBe('path-weighed weight s1, pathId cf');
  });

  it('says why a session was lost and where a resumed one went, in words', () => {
    expect(describeEvent(SAMPLES['session-lost'])).toMatch(
      /^session lost 9f2c41d0: the relay refused the key \(both sides need the same key file\)/,
    );
    expect(describeEvent(SAMPLES['session-resumed'])).toMatch(
      /^session resumed 9f2c41d0: a → cf after 240.*, 8192 bytes replayed$/,
    );
  });

  it('does not let a message move the cursor or clear the terminal', () => {
    const hostile = { ...SAMPLES.warning, message: 'a\u001b[2J\u001b]0;pwned\u0007b\r\nc' };
    const line = describeEvent(hostile);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: no control character may reach the terminal.
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(line).toBe('warning: a\\x1b[2J\\x1b]0;pwned\\x07b\\r\\nc');
  });
});
