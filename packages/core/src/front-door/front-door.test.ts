import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TunnelmuxEvent } from '../events/types';
import { createManager } from '../manager/manager';
import { relayProvider } from '../test-utils/relay-provider';
import { type BannerServer, startBannerServer } from '../testing/banner-server';
import type { FrontDoorOptions } from './front-door';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(protocol: 'ssh' | 'tcp', ids = ['a', 'b', 'c'], doorOptions: FrontDoorOptions = {}) {
  const target = await startBannerServer();
  cleanups.push(() => target.close());
  const relays = relayProvider();
  const manager = createManager({
    target,
    protocol,
    providers: [relays.provider],
    failover: { interval: 5000, timeout: 1000, firstByteTimeout: 300 },
    metricsInterval: 0,
  });
  cleanups.push(() => manager.shutdown());
  const events: TunnelmuxEvent[] = [];
  manager.events.on((event) => events.push(event));
  const results = await manager.startMultiple(ids.map((id) => ({ id, provider: 'relay' })));
  expect(results.every((r) => r.ok)).toBe(true);
  const door = await manager.listen({ port: 0, ...doorOptions });
  return { target, relays, manager, door, events };
}

/** Connect, read the banner, send `payload`, half-close, and collect everything until the far end closes. */
function exchange(port: number, payload: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('client timed out')));
    socket.end(payload);
  });
}

const bannerOf = (target: BannerServer) => Buffer.from(target.banner, 'latin1');

describe('front door', () => {
  it('carries a connection through the primary and counts bytes per path and connection', async () => {
    const { target, manager, door } = await setup('ssh');
    const reply = await exchange(door.address.port, Buffer.from('hello'));
    expect(reply.toString('latin1')).toBe(`${target.banner}hello`);
    const a = manager.status('a');
    expect(a).toMatchObject({ totalConnections: 1, bytesOut: 5, bytesIn: bannerOf(target).length + 5 });
    expect(manager.status('b').totalConnections).toBe(0);
  });

  it('retries a refused dial on the next healthy path at once, and counts it against the refuser', async () => {
    const { target, relays, manager, door, events } = await setup('tcp');
    relays.relay('a')!.crash();
    // The crash also makes the manager fail over, so make b refuse to force a retry onto c.
    relays.setMode('b', 'refuse');
    await new Promise((r) => setTimeout(r, 20));
    const reply = await exchange(door.address.port, Buffer.from('x'));
    expect(reply.toString('latin1')).toBe(`${target.banner}x`);
    expect(manager.status('c').totalConnections).toBe(1);
    expect(events.some((e) => e.type === 'dial-failed' || e.type === 'failover')).toBe(true);
    // The crash alone makes a failover: only the dial-failed event and counter of b show the refusal counted.
    expect(events.filter((e) => e.type === 'dial-failed')).toEqual([
      expect.objectContaining({
        pathId: 'b',
        source: 'front-door',
        reason: expect.stringMatching(/^dial failed: /),
      }),
    ]);
    expect(manager.status('b').failedDials).toBe(1);
  });

  it('counts a refused dial against its path even when nothing else has gone wrong', async () => {
    const { target, relays, manager, door, events } = await setup('tcp', ['a', 'b']);
    relays.setMode('a', 'unreachable');
    const reply = await exchange(door.address.port, Buffer.from('x'));
    expect(reply.toString('latin1')).toBe(`${target.banner}x`);
    expect(manager.status('b').totalConnections).toBe(1);
    expect(manager.status('a')).toMatchObject({ failedDials: 1, totalConnections: 0 });
    expect(events.filter((e) => e.type === 'failover')).toEqual([]);
    expect(events.find((e) => e.type === 'dial-failed')).toMatchObject({
      pathId: 'a',
      source: 'front-door',
      reason: expect.stringContaining('ECONNREFUSED'),
    });
    expect(door.connections()).toEqual([]);
  });

  it('says a path reset the connection when it did, not that it waited for a first byte', async () => {
    // A kill -9 of a tunnel's process: its connections are reset long before firstByteTimeout.
    const { target, relays, manager, door, events } = await setup('ssh', ['a', 'b'], {
      firstByteTimeout: 60_000,
    });
    relays.setMode('a', 'reset');
    const payload = Buffer.from('SSH-2.0-client\r\n');
    const reply = await exchange(door.address.port, payload);
    expect(reply.toString('latin1')).toBe(target.banner + payload.toString('latin1'));
    expect(manager.status('b').totalConnections).toBe(1);
    const failed = events.find((e) => e.type === 'dial-failed');
    expect(failed).toMatchObject({ pathId: 'a', source: 'front-door' });
    const reason = (failed as { reason: string }).reason;
    expect(reason).toBe('the path reset the connection before the target spoke (read ECONNRESET)');
    expect(reason).not.toMatch(/first byte within/);
  });

  it('holds a silent path for firstByteTimeout, then moves on: no sooner and not for the default 5 s', async () => {
    const firstByteTimeout = 1000;
    const { target, relays, manager, door, events } = await setup('ssh', ['a', 'b'], { firstByteTimeout });
    relays.setMode('a', 'silent');
    const started = performance.now();
    let heldFor: number | undefined;
    manager.events.on((event) => {
      if (event.type === 'dial-failed') heldFor ??= performance.now() - started;
    });
    const payload = Buffer.from('SSH-2.0-client\r\n');
    const reply = await exchange(door.address.port, payload);
    expect(reply.toString('latin1')).toBe(target.banner + payload.toString('latin1'));
    expect(events.find((e) => e.type === 'dial-failed')).toMatchObject({
      pathId: 'a',
      reason: `no first byte within ${firstByteTimeout} ms`,
    });
    // The client is held for the configured wait: at least that, and well under the 5 s default (a hang bound).
    // (Less 20 ms: a timer may fire a little early by the event loop's cached clock.)
    expect(heldFor).toBeGreaterThanOrEqual(firstByteTimeout - 20);
    expect(heldFor).toBeLessThan(4000);
    expect(manager.status('b').totalConnections).toBe(1);
  });

  it('stops reading a client once holdLimit bytes wait for a path that has not spoken', async () => {
    const holdLimit = 16 * 1024;
    const { relays, manager, door } = await setup('ssh', ['a'], { holdLimit, firstByteTimeout: 1000 });
    relays.setMode('a', 'silent');
    // Read at the moment the silent path is given up on: by then an unbounded hold would have taken megabytes.
    let heldAtGiveUp: number | undefined;
    manager.events.on((event) => {
      if (event.type === 'dial-failed') heldAtGiveUp = door.connections()[0]?.heldBytes;
    });
    const socket = net.connect({ host: '127.0.0.1', port: door.address.port });
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(Buffer.alloc(32 * 1024 * 1024, 1));
    await closed;
    expect(heldAtGiveUp).toBeGreaterThanOrEqual(holdLimit);
    // One socket read is at most 64 KiB, so the hold may pass the limit by one chunk, never more.
    expect(heldAtGiveUp).toBeLessThanOrEqual(holdLimit + 64 * 1024);
  });

  it('replays held bytes on the next path when the first stays silent (first-byte failover)', async () => {
    const { target, relays, manager, door, events } = await setup('ssh');
    relays.setMode('a', 'silent');
    const payload = Buffer.from('SSH-2.0-client\r\n');
    const started = performance.now();
    const reply = await exchange(door.address.port, payload);
    // The manager's failover.firstByteTimeout (300 ms) applies, not the 5 s default: a generous bound.
    expect(performance.now() - started).toBeLessThan(3000);
    expect(reply.toString('latin1')).toBe(target.banner + payload.toString('latin1'));
    expect(manager.status('b').totalConnections).toBe(1);
    expect(manager.status('a').failedDials).toBe(1);
    const failed = events.find((e) => e.type === 'dial-failed');
    expect(failed).toMatchObject({ pathId: 'a', source: 'front-door' });
  });

  it('refuses at once, with a reason, when no path is healthy', async () => {
    const { manager, door, events } = await setup('tcp', ['a']);
    await manager.stop('a');
    const started = Date.now();
    const reply = await exchange(door.address.port);
    expect(reply.length).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    const refused = events.find((e) => e.type === 'connection-refused');
    expect(refused).toMatchObject({ reason: expect.stringContaining('no healthy path (a disconnected)') });
    expect(manager.getMetrics().refusedConnections).toBe(1);
  });

  it('keeps data intact in both directions, megabytes at a time', async () => {
    const { target, door } = await setup('ssh');
    const payload = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const reply = await exchange(door.address.port, payload);
    const expected = Buffer.concat([bannerOf(target), payload]);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(reply.length).toBe(expected.length);
    expect(sha(reply)).toBe(sha(expected));
  });

  it('passes a half-close through: the client stops writing and still reads everything', async () => {
    const { target, door } = await setup('tcp');
    const reply = await exchange(door.address.port, Buffer.from('last words'));
    expect(reply.toString('latin1')).toBe(`${target.banner}last words`);
  });

  it('tells who holds a port that is in use', async () => {
    const { manager, door } = await setup('tcp', ['a']);
    await expect(manager.listen({ port: door.address.port })).rejects.toThrow(
      new RegExp(`port is in use; see who holds it with \`ss -ltnp 'sport = :${door.address.port}'\``),
    );
  });

  it('will not bind all interfaces unless asked', async () => {
    const { manager } = await setup('tcp', ['a']);
    await expect(manager.listen({ host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /listen host must be a loopback address such as 127.0.0.1, got "0.0.0.0".*allowAllInterfaces/,
    );
  });

  it('drains open connections on close, then cuts them after the grace period', async () => {
    const { manager, door } = await setup('tcp', ['a']);
    const socket = net.connect({ host: '127.0.0.1', port: door.address.port });
    await new Promise((resolve) => socket.once('data', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const started = Date.now();
    const door2 = door as typeof door & { close(): Promise<void> };
    await Promise.all([door2.close(), closed]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    expect(manager.status('a').activeConnections).toBe(0);
  }, 15_000);
});

describe('front door under many clients', () => {
  it('serves 1,000 concurrent connections', async () => {
    const { door, manager } = await setup('ssh', ['a', 'b']);
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) => exchange(door.address.port, Buffer.from(`client-${i}`))),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(0);
    expect(manager.status('a').totalConnections + manager.status('b').totalConnections).toBe(1000);
  }, 60_000);
});
