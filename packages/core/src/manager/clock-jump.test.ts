import { randomBytes } from 'node:crypto';
import { duplexPair } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TunnelmuxEvent } from '../events/types';
import { FrameOpener, FrameSealer } from '../session/crypto';
import { SessionStream } from '../session/stream';
import { relayProvider } from '../test-utils/relay-provider';
import { startBannerServer } from '../testing/banner-server';
import { createManager } from './manager';

// The wall clock jumps (NTP, a resumed VM, a user): only Date.now moves, by an hour either way. Intervals,
// dwell and heartbeat silence run on a monotonic clock, so nothing fails over or back because of it.

const HOUR = 3_600_000;
const realNow = Date.now.bind(Date);
let offset = 0;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  offset = 0;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function jumpWallClock(ms: number) {
  offset += ms;
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
}

describe('clock jumps', () => {
  it('±1 h on the wall clock: no failover, no state change, and failback still waits its dwell', async () => {
    const target = await startBannerServer();
    cleanups.push(() => target.close());
    const relays = relayProvider();
    const manager = createManager({
      target,
      protocol: 'ssh',
      providers: [relays.provider],
      failover: { interval: 100, timeout: 1000, fall: 2, rise: 2, minDwell: 30_000, jitter: 0 },
      metricsInterval: 0,
    });
    cleanups.push(() => manager.shutdown());
    const events: TunnelmuxEvent[] = [];
    manager.events.on((event) => events.push(event));
    const probes = (id: string) => events.filter((e) => e.type === 'probe' && e.pathId === id).length;
    expect(
      (
        await manager.startMultiple([
          { id: 'a', provider: 'relay' },
          { id: 'b', provider: 'relay' },
        ])
      ).every((r) => r.ok),
    ).toBe(true);
    expect(manager.getPrimary()).toBe('a');

    // Steady paths: jump forward, then back past the start; watch 10 more probes of each path after each jump.
    for (const jump of [HOUR, -2 * HOUR]) {
      const seen = events.length;
      jumpWallClock(jump);
      const [a, b] = [probes('a'), probes('b')];
      await expect.poll(() => probes('a') >= a + 10 && probes('b') >= b + 10, { timeout: 15_000 }).toBe(true);
      const moved = events
        .slice(seen)
        .filter((e) => ['failover', 'primary-change', 'state-change'].includes(e.type));
      expect(moved).toEqual([]);
    }

    // a fails, b takes over; a comes back and must dwell 30 s (monotonic) before it is primary again.
    relays.setMode('a', 'refuse');
    await expect.poll(() => manager.getPrimary(), { timeout: 15_000 }).toBe('b');
    relays.setMode('a', 'ok');
    await expect.poll(() => manager.status('a').state, { timeout: 15_000 }).toBe('connected');
    const seen = events.length;
    jumpWallClock(HOUR);
    const a = probes('a');
    await expect.poll(() => probes('a') >= a + 10, { timeout: 15_000 }).toBe(true);
    expect(manager.getPrimary()).toBe('b');
    expect(events.slice(seen).filter((e) => e.type === 'primary-change')).toEqual([]);
  }, 60_000);

  it('+1 h on the wall clock does not make a live session carrier look silent', async () => {
    const [clientLocal] = duplexPair();
    const [relayLocal] = duplexPair();
    const limits = { bufferBytes: 65536, heartbeatMs: 20, deadAfterMs: 1000 };
    const client = new SessionStream(clientLocal, { role: 'client', ...limits });
    const relay = new SessionStream(relayLocal, {
      role: 'relay',
      sessionId: randomBytes(16),
      windowMs: 60_000,
      ...limits,
    });
    const [c, r] = duplexPair();
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    let lost = 0;
    let heartbeats = 0;
    client.on('carrier-lost', () => lost++);
    relay.on('carrier-lost', () => lost++);
    // Count frames the client receives: heartbeats (or acks) keep coming while we watch.
    c.on('data', () => heartbeats++);
    client.attach(c, { sealer: new FrameSealer(k1), opener: new FrameOpener(k2), leftover: Buffer.alloc(0) });
    relay.attach(r, { sealer: new FrameSealer(k2), opener: new FrameOpener(k1), leftover: Buffer.alloc(0) });
    await expect.poll(() => heartbeats, { timeout: 5000 }).toBeGreaterThan(3);
    jumpWallClock(HOUR);
    const before = heartbeats;
    await expect.poll(() => heartbeats, { timeout: 5000 }).toBeGreaterThan(before + 10);
    expect(lost).toBe(0);
    client.abort('test over');
    relay.abort('test over');
  });
});
