import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TunnelmuxEvent } from '../events/types';
import { createManager } from '../manager/manager';
import { generateSessionKey } from '../session/key-file';
import { createRelay, type Relay } from '../session/relay';
import { echoTarget } from '../session/test-harness';
import { relayProvider } from '../test-utils/relay-provider';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An echo target behind a relay, two in-process paths to the relay, and a manager with resume on. */
async function setup(options: { clientKey?: Buffer; windowMs?: number } = {}) {
  const key = generateSessionKey();
  const echo = await echoTarget();
  cleanups.push(() => echo.close());
  const relayEvents: string[] = [];
  const relay: Relay = await createRelay({
    target: echo.target,
    listen: { host: '127.0.0.1', port: 0 },
    key,
    heartbeatMs: 100,
    deadAfterMs: 600,
    onEvent: (event) => relayEvents.push(event.type),
  });
  cleanups.push(() => relay.close());
  const paths = relayProvider();
  const manager = createManager({
    target: relay.address,
    protocol: 'tcp',
    providers: [paths.provider],
    failover: { interval: 200, timeout: 1000 },
    metricsInterval: 0,
    resume: {
      key: options.clientKey ?? key,
      heartbeatMs: 100,
      deadAfterMs: 600,
      windowMs: options.windowMs ?? 20_000,
    },
  });
  cleanups.push(() => manager.shutdown());
  const events: TunnelmuxEvent[] = [];
  manager.events.on((event) => events.push(event));
  const results = await manager.startMultiple([
    { id: 'a', provider: 'relay' },
    { id: 'b', provider: 'relay' },
  ]);
  expect(results.every((r) => r.ok)).toBe(true);
  const door = await manager.listen({ port: 0 });
  return { key, echo, relay, relayEvents, paths, manager, door, events };
}

/**
 * Stream `total` random bytes through the door to the echo target: send half, wait until it is echoed, run
 * `during` (the fault), send the rest. Resolves with both digests and whether the client socket closed early.
 */
async function echoStream(port: number, total: number, during: () => unknown) {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  cleanups.push(async () => socket.destroy());
  const sent = createHash('sha256');
  const got = createHash('sha256');
  let received = 0;
  let closedEarly = false;
  socket.on('data', (chunk: Buffer) => {
    got.update(chunk);
    received += chunk.length;
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    if (received < total) closedEarly = true;
  });
  const send = async (bytes: number) => {
    for (let offset = 0; offset < bytes; offset += 64 * 1024) {
      const chunk = randomBytes(Math.min(64 * 1024, bytes - offset));
      sent.update(chunk);
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    }
  };
  await new Promise((resolve) => socket.once('connect', resolve));
  const half = Math.floor(total / 2);
  await send(half);
  await expect.poll(() => received, { timeout: 20_000 }).toBe(half);
  await during();
  await send(total - half);
  await expect.poll(() => received || closedEarly, { timeout: 20_000 }).toBe(total);
  return { sent: sent.digest('hex'), got: got.digest('hex'), closedEarly, socket };
}

describe('front door with resume', () => {
  it('keeps a session, every byte intact, through a crash of the path that carries it', async () => {
    const { door, paths, events, manager, relay } = await setup();
    const result = await echoStream(door.address.port, 8 * 1024 * 1024, () => {
      const carrying = door.connections()[0]?.pathId ?? 'a';
      paths.relay(carrying)?.crash();
    });
    expect(result.got).toBe(result.sent);
    expect(result.closedEarly).toBe(false);
    const resumed = events.find((e) => e.type === 'session-resumed');
    expect(resumed).toMatchObject({ from: 'a', to: 'b', session: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(relay.metrics().resumes).toBeGreaterThanOrEqual(1);
    expect(manager.getMetrics().sessions).toMatchObject({ resumes: expect.any(Number) });
    expect(manager.getMetrics().sessions!.resumes).toBeGreaterThanOrEqual(1);
    expect(await manager.prometheus()).toMatch(
      /tunnelmux_session_resume_stall_seconds_count\{service="default"\} [1-9]/,
    );
  }, 30_000);

  it('notices a black hole by heartbeats and resumes on the other path', async () => {
    const { door, paths, events } = await setup();
    const result = await echoStream(door.address.port, 4 * 1024 * 1024, () => {
      paths.setMode('a', 'silent');
      paths.relay('a')?.blackHole();
    });
    expect(result.got).toBe(result.sent);
    expect(result.closedEarly).toBe(false);
    expect(events.find((e) => e.type === 'session-resumed')).toMatchObject({ from: 'a', to: 'b' });
  }, 30_000);

  it('moves a session off a path its probes take out of rotation, before that path is cut', async () => {
    const { door, manager, events, paths } = await setup();
    const result = await echoStream(door.address.port, 4 * 1024 * 1024, async () => {
      // New connections through a (the probes) are reset; the carrier already open through it still works.
      paths.setMode('a', 'refuse');
      await expect
        .poll(() => events.some((e) => e.type === 'session-resumed'), { timeout: 15_000 })
        .toBe(true);
    });
    expect(result.got).toBe(result.sent);
    expect(result.closedEarly).toBe(false);
    expect(events.find((e) => e.type === 'session-resumed')).toMatchObject({ from: 'a', to: 'b' });
    expect(manager.status().sessions?.[0]).toMatchObject({ path: 'b', resumes: 1 });
    // Moved, not lost: the carrier through a was never found dead.
    expect(events.filter((e) => e.type === 'dial-failed' && /carrier was lost/.test(e.reason))).toEqual([]);
  }, 30_000);

  it('passes a half-close through: the client stops writing, reads every echoed byte, and the session ends cleanly', async () => {
    const { door, relay, echo, events, manager } = await setup();
    const payload = randomBytes(512 * 1024);
    const socket = net.connect({ host: '127.0.0.1', port: door.address.port, allowHalfOpen: true });
    cleanups.push(async () => socket.destroy());
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => socket.once('end', resolve));
    socket.end(payload);
    await ended;
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    socket.end();
    await expect.poll(() => relay.sessions().length, { timeout: 10_000 }).toBe(0);
    await expect.poll(() => echo.open, { timeout: 10_000 }).toBe(0);
    await expect.poll(() => manager.status().sessions, { timeout: 10_000 }).toEqual([]);
    expect(events.filter((e) => e.type === 'session-lost')).toEqual([]);
  });

  it('shows live sessions in status, without the key', async () => {
    const { door, manager, key } = await setup();
    const socket = net.connect({ host: '127.0.0.1', port: door.address.port });
    cleanups.push(async () => socket.destroy());
    socket.write('ping');
    await new Promise((resolve) => socket.once('data', resolve));
    const status = manager.status();
    expect(status.sessions).toEqual([
      expect.objectContaining({ path: 'a', attached: true, session: expect.stringMatching(/^[0-9a-f]{8}$/) }),
    ]);
    const text = JSON.stringify(status);
    expect(text).not.toContain(key.toString('hex'));
    expect(text).not.toContain(key.toString('base64'));
  });

  it('refuses a wrong key: session-lost with key-refused, and nothing reaches the target', async () => {
    const { door, echo, events, key, relayEvents, manager } = await setup({
      clientKey: generateSessionKey(),
    });
    const socket = net.connect({ host: '127.0.0.1', port: door.address.port });
    socket.on('error', () => undefined);
    socket.write('secret payload');
    await new Promise((resolve) => socket.once('close', resolve));
    const lost = events.find((e) => e.type === 'session-lost');
    expect(lost).toMatchObject({ reason: 'key-refused' });
    // The relay's own probe dials the target, so count sessions by the target's open sockets after probes.
    expect(echo.open).toBe(0);
    expect(events.some((e) => e.type === 'warning' && /same key file/.test(e.message))).toBe(true);
    // Once refused, probes stop proving the wrong key (each refusal slows the relay down for every session),
    // and the paths stay up: reaching the relay is all they can check.
    const refusals = () => relayEvents.filter((type) => type === 'key-refused').length;
    const probeCount = () => events.filter((e) => e.type === 'probe').length;
    // Let a refusal already under way (the relay slows each one down) land first.
    const settled = probeCount();
    await expect.poll(probeCount, { timeout: 10_000 }).toBeGreaterThan(settled + 4);
    const before = refusals();
    const probes = probeCount();
    await expect.poll(probeCount, { timeout: 10_000 }).toBeGreaterThan(probes + 8);
    expect(refusals()).toBe(before);
    expect(manager.status().paths.map((p) => p.state)).toEqual(['connected', 'connected']);
    expect(JSON.stringify(events)).not.toContain(key.toString('hex'));
  }, 30_000);

  it('ends a session with window-expired when no path comes back within the window, and says so once', async () => {
    const { door, paths, events, manager } = await setup({ windowMs: 1500 });
    const socket = net.connect({ host: '127.0.0.1', port: door.address.port });
    cleanups.push(async () => socket.destroy());
    socket.on('error', () => undefined);
    socket.write('ping');
    await new Promise((resolve) => socket.once('data', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    paths.setMode('a', 'refuse');
    paths.setMode('b', 'refuse');
    paths.relay('a')?.crash();
    paths.relay('b')?.crash();
    await closed;
    expect(events.filter((e) => e.type === 'session-lost')).toEqual([
      expect.objectContaining({ reason: 'window-expired' }),
    ]);
    expect(manager.getMetrics().sessions).toMatchObject({ live: 0, lost: { 'window-expired': 1 } });
    expect(await manager.prometheus()).toMatch(
      /tunnelmux_sessions_lost_total\{service="default",reason="window-expired"\} 1/,
    );
  }, 30_000);

  it('probes the relay end to end: a path is down when the relay cannot reach its target', async () => {
    const { echo, manager } = await setup();
    await echo.close();
    await expect
      .poll(() => manager.status('a').lastError ?? '', { timeout: 15_000 })
      .toMatch(/the relay cannot reach its target/);
    await expect.poll(() => manager.status('a').state, { timeout: 15_000 }).not.toBe('connected');
  }, 30_000);

  it('without resume the front door splices as before: no session in status or metrics', async () => {
    const echo = await echoTarget();
    cleanups.push(() => echo.close());
    const paths = relayProvider();
    const manager = createManager({ target: echo.target, providers: [paths.provider], metricsInterval: 0 });
    cleanups.push(() => manager.shutdown());
    await manager.startMultiple([{ id: 'a', provider: 'relay' }]);
    expect(manager.status().sessions).toBeUndefined();
    expect(manager.getMetrics().sessions).toBeUndefined();
  });
});
