import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deferred } from '../async/deferred';
import type { EventOf, TunnelmuxEvent } from '../events/types';
import { defineProvider } from '../provider/define-provider';
import { liveClient } from '../test-utils/live-client';
import { memoryProvider } from '../test-utils/memory-provider';
import { relayProvider } from '../test-utils/relay-provider';
import { startBannerServer } from '../testing/banner-server';
import { createManager } from './manager';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(ids = ['a', 'b', 'c'], protocol: 'ssh' | 'tcp' = 'ssh') {
  const target = await startBannerServer();
  cleanups.push(() => target.close());
  const relays = relayProvider();
  const manager = createManager({
    target,
    protocol,
    providers: [relays.provider],
    // Probes only at start: later ones would dial the relays too and blur the counts below.
    failover: { interval: 60_000, fastInterval: 50, timeout: 1000, firstByteTimeout: 1000 },
    metricsInterval: 0,
  });
  cleanups.push(() => manager.shutdown());
  const events: TunnelmuxEvent[] = [];
  manager.events.on((event) => events.push(event));
  const results = await manager.startMultiple(ids.map((id) => ({ id, provider: 'relay' })));
  expect(results.every((r) => r.ok)).toBe(true);
  const door = await manager.listen({ port: 0 });
  const banner = target.banner.length;
  /** A client through the door, past the banner. */
  const client = async () => {
    const c = await liveClient(door.address.port);
    cleanups.push(async () => c.socket.destroy());
    await c.waitFor(banner);
    return c;
  };
  const of = <T extends TunnelmuxEvent['type']>(type: T) =>
    events.filter((e): e is EventOf<T> => e.type === type);
  return { manager, relays, door, events, of, client, banner };
}

describe('drain', () => {
  it('takes the primary out of rotation at once, lets its live connection finish, then removes it', async () => {
    const { manager, relays, of, client, banner } = await setup();
    const live = await client();
    expect(manager.status('a').activeConnections).toBe(1);
    const relayA = relays.relay('a')!;

    const drained = manager.drain('a', { timeoutMs: 60_000 });
    // At once: b leads, a is listed as draining, not as a path.
    expect(manager.getPrimary()).toBe('b');
    expect(of('primary-change').at(-1)).toMatchObject({ from: 'a', to: 'b', reason: 'drained' });
    expect(of('path-draining')).toEqual([
      expect.objectContaining({ pathId: 'a', activeConnections: 1, timeoutMs: 60_000, service: 'default' }),
    ]);
    expect(manager.list().map((p) => p.id)).toEqual(['b', 'c']);
    expect(manager.status().draining).toEqual([expect.objectContaining({ id: 'a', activeConnections: 1 })]);

    // A new connection goes through b; the old one still works through a.
    const next = await client();
    expect(manager.status('b').activeConnections).toBe(1);
    expect(relayA.accepted).toBe(2); // the start-up probe and the live client, nothing new
    live.socket.write('still here');
    await live.waitFor(banner + 'still here'.length);
    expect(live.received().subarray(banner).toString()).toBe('still here');

    await live.end();
    const result = await drained;
    expect(result).toMatchObject({ id: 'a', closedConnections: 0 });
    expect(of('path-drained')).toEqual([expect.objectContaining({ pathId: 'a', closedConnections: 0 })]);
    expect(manager.status().draining).toBeUndefined();
    expect(() => manager.status('a')).toThrow(/no path "a"/);
    next.socket.write('b works');
    await next.waitFor(banner + 7);
  });

  it('cuts what is still open when the timeout passes, and says how many', async () => {
    const { manager, of, client } = await setup(['a', 'b']);
    const live = await client();
    const result = await manager.drain('a', { timeoutMs: 200 });
    expect(result).toMatchObject({ id: 'a', closedConnections: 1 });
    await live.closed;
    expect(of('path-drained').at(-1)).toMatchObject({ pathId: 'a', closedConnections: 1 });
    expect(result.waitedMs).toBeGreaterThanOrEqual(190);
  });

  it('cuts a connection whose tunnel would outlive the path (the front door closes it, not the provider)', async () => {
    // Memory tunnels leave their streams open when closed: only the front door's cut can end the client.
    const memory = memoryProvider();
    const manager = createManager({
      protocol: 'tcp',
      target: '127.0.0.1:9',
      providers: [memory.provider],
      metricsInterval: 0,
    });
    cleanups.push(() => manager.shutdown());
    await manager.startMultiple([{ id: 'm', provider: 'memory' }]);
    const door = await manager.listen({ port: 0 });
    const live = await liveClient(door.address.port);
    cleanups.push(async () => live.socket.destroy());
    await expect.poll(() => manager.status('m').activeConnections, { timeout: 10_000 }).toBe(1);
    const result = await manager.drain('m', { timeoutMs: 100 });
    expect(result.closedConnections).toBe(1);
    await live.closed;
    await expect.poll(() => door.connections(), { timeout: 5000 }).toEqual([]);
  });

  it('drains an idle path at once and leaves the primary alone when the path was not primary', async () => {
    const { manager, of } = await setup();
    const before = of('primary-change').length;
    await expect(manager.drain('c', { timeoutMs: 60_000 })).resolves.toMatchObject({ closedConnections: 0 });
    expect(manager.getPrimary()).toBe('a');
    expect(of('primary-change')).toHaveLength(before);
  });

  it('rejects a bad timeout and an unknown path, naming the value', async () => {
    const { manager } = await setup(['a']);
    expect(() => manager.drain('a', { timeoutMs: -1 })).toThrow(/timeoutMs.*-1/);
    expect(() => manager.drain('zz')).toThrow(/no path "zz"; known paths: a/);
    expect(manager.getPrimary()).toBe('a');
  });
});

describe('drain under load', () => {
  // tcp: the front door carries a client as soon as its dial connects, so a dial under way must hold the drain.
  it.each(['ssh', 'tcp'] as const)(
    'drains the primary while 100 clients keep connecting (%s): none fails, and the path is gone afterwards',
    async (protocol) => {
      const { manager, relays, client, banner, of } = await setup(['a', 'b'], protocol);
      const relayA = relays.relay('a')!;
      let done = 0;
      const failures: string[] = [];
      const one = async (n: number) => {
        try {
          const c = await client();
          const word = `client ${n}`;
          c.socket.write(word);
          await c.waitFor(banner + word.length, 10_000);
          expect(c.received().subarray(banner).toString()).toBe(word);
          await c.end();
        } catch (error) {
          failures.push(`${n}: ${String(error)}`);
        } finally {
          done += 1;
        }
      };
      // Ten at a time, a hundred in all; the drain starts once a quarter have finished.
      let next = 0;
      const worker = async () => {
        while (next < 100) await one(next++);
      };
      const workers = Promise.all(Array.from({ length: 10 }, worker));
      await expect.poll(() => done, { timeout: 20_000 }).toBeGreaterThanOrEqual(25);
      const drained = manager.drain('a', { timeoutMs: 10_000 });
      await workers;
      await drained;
      expect(failures).toEqual([]);
      expect(done).toBe(100);
      expect(of('path-drained')).toEqual([expect.objectContaining({ pathId: 'a', closedConnections: 0 })]);
      expect(manager.list().map((p) => p.id)).toEqual(['b']);
      expect(manager.status('b').totalConnections).toBeGreaterThan(0);
      // The drained path's tunnel is closed: nothing listens on its endpoint any more.
      await expect(relayA.dial()).rejects.toThrow(/ECONNREFUSED/);
    },
  );
});

describe('a dial under way when the drain starts', () => {
  it('holds the drain until the connection it becomes is carried and ends', async () => {
    // A path whose dials wait for the test to open a gate: the client's dial is in flight when the drain begins.
    let gate: ReturnType<typeof deferred<void>> | undefined;
    const gated = defineProvider({
      apiVersion: 1,
      name: 'gated',
      summary: 'dials wait for a gate',
      access: {
        options: z.object({}).strict(),
        async open() {
          const end = deferred<{ reason: string }>();
          return {
            endpoint: 'gated',
            dial: async () => {
              await gate?.promise;
              return new PassThrough();
            },
            done: end.promise,
            close: async () => end.resolve({ reason: 'closed' }),
          };
        },
      },
    });
    const manager = createManager({
      protocol: 'tcp',
      target: '127.0.0.1:9',
      providers: [gated],
      metricsInterval: 0,
    });
    cleanups.push(() => manager.shutdown());
    await manager.start({ id: 'g', provider: 'gated' });
    const door = await manager.listen({ port: 0 });
    gate = deferred();
    const live = await liveClient(door.address.port);
    cleanups.push(async () => live.socket.destroy());
    await expect.poll(() => door.connections()[0]?.attempts, { timeout: 5000 }).toBe(1);

    let drainedAt: number | undefined;
    const drained = manager.drain('g', { timeoutMs: 60_000 }).then((result) => {
      drainedAt = Date.now();
      return result;
    });
    gate.resolve();
    // The dial lands after the drain began: the connection is carried by g, and the drain waits for it.
    await expect.poll(() => door.connections()[0]?.pathId, { timeout: 5000 }).toBe('g');
    live.socket.write('echo');
    await live.waitFor(4);
    expect(drainedAt).toBeUndefined();
    await live.end();
    await expect(drained).resolves.toMatchObject({ closedConnections: 0 });
  });
});

describe('replace', () => {
  it('starts the new path first, keeps the old connection on the old tunnel until it ends, and shows the new one', async () => {
    const { manager, relays, of, client, banner } = await setup(['a', 'b']);
    const live = await client();
    const oldRelay = relays.relay('a')!;

    const { status, drained } = await manager.replace(
      { id: 'a', provider: 'relay', priority: 0 },
      { drainMs: 60_000 },
    );
    const newRelay = relays.relay('a')!;
    expect(newRelay).not.toBe(oldRelay);
    expect(status).toMatchObject({ id: 'a', state: 'connected', primary: true, activeConnections: 0 });
    // The same id stays primary: no primary change, nothing looks like a failover.
    expect(of('failover')).toEqual([]);
    expect(manager.getPrimary()).toBe('a');
    expect(manager.status().draining).toEqual([expect.objectContaining({ id: 'a', activeConnections: 1 })]);

    // New connections take the new tunnel; the old one still carries its client.
    const next = await client();
    expect(newRelay.accepted).toBeGreaterThanOrEqual(2);
    expect(manager.status('a').activeConnections).toBe(1);
    live.socket.write('old tunnel');
    await live.waitFor(banner + 10);
    expect(oldRelay.accepted).toBe(2);

    await live.end();
    await expect(drained).resolves.toMatchObject({ id: 'a', closedConnections: 0 });
    next.socket.write('new');
    await next.waitFor(banner + 3);
    expect(manager.list().map((p) => [p.id, p.state])).toEqual([
      ['a', 'connected'],
      ['b', 'connected'],
    ]);
  });

  it('keeps the running path untouched when the replacement is invalid or cannot come up', async () => {
    const { manager, relays, client } = await setup(['a', 'b']);
    const oldRelay = relays.relay('a')!;
    await expect(manager.replace({ id: 'a', provider: 'nope' })).rejects.toThrow(/provider.*"nope"/);
    relays.setMode('a', 'unreachable');
    await expect(manager.replace({ id: 'a', provider: 'relay' })).rejects.toThrow(
      /path "a": the replacement did not come up .*the running path is kept unchanged/,
    );
    relays.setMode('a', 'ok');
    expect(manager.status('a')).toMatchObject({ state: 'connected', primary: true });
    expect(manager.status().draining).toBeUndefined();
    // The tunnel that carries new traffic is still the first one.
    const before = oldRelay.accepted;
    await client();
    expect(oldRelay.accepted).toBe(before + 1);
    await expect(manager.replace({ id: 'zz', provider: 'relay' })).rejects.toThrow(/no path "zz" to replace/);
  });
});
