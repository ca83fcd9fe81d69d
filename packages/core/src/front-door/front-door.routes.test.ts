import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { doorClient } from '../test-utils/door-client';
import { hangingRoute, recordingSource, tcpRoute } from '../test-utils/recording-source';
import { type BannerServer, startBannerServer } from '../testing/banner-server';
import { type FrontDoor, type FrontDoorOptions, openFrontDoor } from './front-door';
import type { Route } from './route-source';

// The front door on its own, over a route source that records what the door reports (no manager): real
// 127.0.0.1 targets and clients, so each test runs in well under a second.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BANNER = 'SSH-2.0-front-door-test\r\n';

async function target(): Promise<BannerServer> {
  const server = await startBannerServer(BANNER);
  cleanups.push(() => server.close());
  return server;
}

/** A 127.0.0.1 server that accepts and never says anything, keeping what it reads. */
async function silentServer() {
  const sockets = new Set<net.Socket>();
  let read = '';
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      read += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  cleanups.push(close);
  return {
    target: { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port },
    get open() {
      return sockets.size;
    },
    read: () => read,
    close,
  };
}

async function door(
  routes: Route[],
  options: Partial<Parameters<typeof openFrontDoor>[1]> & FrontDoorOptions = {},
) {
  const { source, record } = recordingSource(routes);
  const opened: FrontDoor = await openFrontDoor(source, {
    defaultProtocol: 'tcp',
    defaultFirstByteTimeout: 10_000,
    ...options,
  });
  cleanups.push(() => opened.close({ drainTimeout: 0 }));
  return { door: opened, source, record };
}

const client = (port: number) => doorClient(port, cleanups);

describe('front door over a route source', () => {
  it('carries clients through the first route, numbers them and shows each in connections()', async () => {
    const t = await target();
    const a = tcpRoute('a', t);
    const { door: d, record } = await door([a, tcpRoute('b', t)]);
    expect(d.accepting).toBe(true);
    const before = Date.now();
    const one = await client(d.address.port);
    const two = await client(d.address.port);
    one.socket.write('ping');
    await expect.poll(one.received, { timeout: 10_000 }).toBe(`${BANNER}ping`);
    await expect.poll(two.received, { timeout: 10_000 }).toBe(BANNER);
    const connections = d.connections();
    expect(connections).toEqual([
      {
        id: 1,
        client: `127.0.0.1:${one.localPort}`,
        pathId: 'a',
        bytesIn: BANNER.length + 4,
        bytesOut: 4,
        heldBytes: 0,
        openedAt: expect.any(Number),
        attempts: 1,
      },
      expect.objectContaining({ id: 2, client: `127.0.0.1:${two.localPort}`, pathId: 'a' }),
    ]);
    expect(connections[0]!.openedAt).toBeGreaterThanOrEqual(before);
    expect(connections[0]!.openedAt).toBeLessThanOrEqual(Date.now());
    // A copy: changing it changes nothing in the door.
    connections[0]!.attempts = 99;
    expect(d.connections()[0]!.attempts).toBe(1);
    expect(record.meters.map((m) => m.pathId)).toEqual(['a', 'a']);
    expect(record.refused).toEqual([]);
    expect(record.warnings).toEqual([]);
    one.socket.end();
    await one.closed;
    await expect.poll(() => d.connections().map((c) => c.id), { timeout: 10_000 }).toEqual([2]);
    await expect.poll(() => record.meters[0]!.closed, { timeout: 10_000 }).toBe(1);
  });

  it('counts a connection on the route itself when the route can count it, and its cut ends both sides', async () => {
    const t = await target();
    const base = tcpRoute('a', t);
    const meters: Array<{ cut?: () => void; closed: number }> = [];
    const route: Route = {
      id: 'a',
      dial: (signal) => base.dial(signal),
      carry: (cut) => {
        const meter = { cut, closed: 0 };
        meters.push(meter);
        return {
          bytesIn: () => undefined,
          bytesOut: () => undefined,
          follow: () => undefined,
          close: () => {
            meter.closed += 1;
          },
        };
      },
    };
    const { door: d, record } = await door([route]);
    const c = await client(d.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    expect(record.meters).toEqual([]);
    expect(meters).toHaveLength(1);
    meters[0]!.cut!();
    await c.closed;
    expect(base.sockets[0]!.destroyed).toBe(true);
    await expect.poll(() => meters[0]!.closed, { timeout: 10_000 }).toBe(1);
  });

  it('tries the next route when one fails, counts the attempts, and reports the failed dial', async () => {
    const t = await target();
    const gone = await silentServer();
    await gone.close();
    const { door: d, record } = await door([tcpRoute('dead', gone.target), tcpRoute('b', t)]);
    const c = await client(d.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    expect(d.connections()[0]).toMatchObject({ pathId: 'b', attempts: 2 });
    expect(record.dialFailed).toEqual([{ pathId: 'dead', reason: expect.stringMatching(/^dial failed: /) }]);
  });

  it('refuses with every reason when every route fails, and says there is no healthy path when there is none', async () => {
    const gone = await silentServer();
    await gone.close();
    const { door: d, record } = await door([tcpRoute('a', gone.target), tcpRoute('b', gone.target)]);
    const c = await client(d.address.port);
    await c.closed;
    expect(record.refused).toEqual([
      {
        reason: expect.stringMatching(/^every healthy path failed \(a: dial failed: [^;]+; b: dial failed: /),
        client: `127.0.0.1:${c.localPort}`,
      },
    ]);
    record.routes = [];
    const c2 = await client(d.address.port);
    await c2.closed;
    expect(record.refused[1]).toEqual({
      reason: 'no healthy path (no paths)',
      client: `127.0.0.1:${c2.localPort}`,
    });
  });

  it('a client refused in the same turn it was accepted leaves no connection behind in status', async () => {
    // No route: the refusal and the cut happen before the client's listeners are set up, a tick later.
    const { door: d, record } = await door([]);
    for (let i = 0; i < 3; i += 1) {
      const c = await client(d.address.port);
      await c.closed;
    }
    expect(record.refused).toHaveLength(3);
    await expect.poll(() => d.connections()).toEqual([]);
    // With nothing live, close() has nothing to drain and returns at once.
    await d.close({ drainTimeout: 60_000 });
  });

  it('ssh: holds the client bytes while the path is silent, replays them on the next path, and stops holding once carried', async () => {
    const t = await target();
    const silent = await silentServer();
    const { door: d } = await door([tcpRoute('silent', silent.target), tcpRoute('b', t)], {
      protocol: 'ssh',
      firstByteTimeout: 400,
    });
    const c = await client(d.address.port);
    c.socket.write('early');
    await expect.poll(() => d.connections()[0]?.heldBytes, { timeout: 10_000 }).toBe(5);
    // Held bytes go only to the path that spoke.
    await expect.poll(c.received, { timeout: 10_000 }).toBe(`${BANNER}early`);
    expect(silent.read()).toBe('');
    expect(d.connections()[0]).toMatchObject({ pathId: 'b', heldBytes: 0, attempts: 2 });
    c.socket.write('late');
    await expect.poll(c.received, { timeout: 10_000 }).toBe(`${BANNER}earlylate`);
    expect(d.connections()[0]).toMatchObject({ heldBytes: 0, bytesOut: 9 });
  });

  it('the protocol option overrides the default one, and firstByteTimeout follows a function default', async () => {
    const silent = await silentServer();
    let firstByte = 300;
    const { door: d, record } = await door([tcpRoute('s', silent.target)], {
      protocol: 'ssh',
      defaultProtocol: 'tcp',
      defaultFirstByteTimeout: () => firstByte,
    });
    const c = await client(d.address.port);
    await c.closed;
    expect(record.dialFailed).toEqual([{ pathId: 's', reason: 'no first byte within 300 ms' }]);
    firstByte = 350;
    const c2 = await client(d.address.port);
    await c2.closed;
    expect(record.dialFailed[1]).toEqual({ pathId: 's', reason: 'no first byte within 350 ms' });
  });

  it('the default protocol applies without the option, and a fixed firstByteTimeout wins over the default', async () => {
    const silent = await silentServer();
    const { door: d, record } = await door([tcpRoute('s', silent.target)], {
      defaultProtocol: 'ssh',
      firstByteTimeout: 250,
      defaultFirstByteTimeout: 10_000,
    });
    const c = await client(d.address.port);
    await c.closed;
    expect(record.dialFailed).toEqual([{ pathId: 's', reason: 'no first byte within 250 ms' }]);
  });

  it('a dial that hangs is given up after the default 2000 ms dial timeout', async () => {
    const hanging = hangingRoute('h');
    const { door: d, record } = await door([hanging]);
    const c = await client(d.address.port);
    await c.closed;
    expect(record.dialFailed).toEqual([{ pathId: 'h', reason: 'dial failed: timed out after 2000 ms' }]);
  });

  it('a client that goes away while its dial is under way aborts the dial and is not refused', async () => {
    const t = await target();
    const hanging = hangingRoute('h');
    const { door: d, record } = await door([hanging]);
    const c = await client(d.address.port);
    await expect.poll(() => hanging.signals.length, { timeout: 10_000 }).toBe(1);
    c.socket.resetAndDestroy();
    await expect.poll(() => hanging.signals[0]!.aborted, { timeout: 10_000 }).toBe(true);
    await expect.poll(() => d.connections(), { timeout: 10_000 }).toEqual([]);
    // A later client is served in full: by then the first one's carrier has long finished.
    record.routes = [tcpRoute('a', t)];
    const c2 = await client(d.address.port);
    await expect.poll(c2.received, { timeout: 10_000 }).toBe(BANNER);
    expect(record.refused).toEqual([]);
    expect(record.dialFailed).toEqual([]);
  });

  it('a client that resets after its path connected leaves no connection to the target behind', async () => {
    const t = await target();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const base = tcpRoute('a', t);
    const route: Route = {
      id: 'a',
      async dial() {
        // The dial completes after the client has gone (it ignores the abort, as a slow path may).
        await released;
        return base.dial(new AbortController().signal);
      },
    };
    const { door: d, record } = await door([route]);
    const c = await client(d.address.port);
    await expect.poll(() => d.connections().length, { timeout: 10_000 }).toBe(1);
    c.socket.resetAndDestroy();
    await expect.poll(() => d.connections(), { timeout: 10_000 }).toEqual([]);
    release();
    await expect.poll(() => base.sockets.length, { timeout: 10_000 }).toBe(1);
    await expect.poll(() => base.sockets[0]!.destroyed, { timeout: 10_000 }).toBe(true);
    expect(record.meters).toEqual([]);
    expect(record.refused).toEqual([]);
  });

  it('refuses with "internal error" when a carrier throws, and closes the client', async () => {
    const { door: d, record } = await door([], {
      carrier: async () => {
        throw new Error('carrier broke');
      },
    });
    const c = await client(d.address.port);
    await c.closed;
    expect(record.refused).toEqual([
      { reason: 'internal error: carrier broke', client: `127.0.0.1:${c.localPort}` },
    ]);
  });

  it('out of file descriptors: turns clients away without counting against the path, and warns once per burst', async () => {
    const emfile = Object.assign(new Error('connect EMFILE'), { code: 'EMFILE' });
    const route: Route = { id: 'a', dial: async () => Promise.reject(emfile) };
    const { door: d, record } = await door([route]);
    for (let i = 0; i < 2; i++) {
      const c = await client(d.address.port);
      await c.closed;
    }
    expect(record.refused).toEqual([]);
    expect(record.dialFailed).toEqual([]);
    expect(record.warnings).toEqual([
      expect.stringMatching(/^front door: out of file descriptors \(EMFILE\)/),
    ]);
    await d.close();
    expect(record.warnings[1]).toBe(
      'front door: serving again after turning away 2 client(s) for lack of file descriptors',
    );
  });

  it('past its descriptor budget, turns clients away itself and warns once; follows a limit lowered while running', async () => {
    const quiet = await silentServer();
    let limit = 10_000;
    // (limit - 0 held by the rest - 16 reserve) / 2 per client: 22 leaves room for 3 clients.
    const descriptors = { softLimit: () => limit, openCount: () => 0 };
    const { door: d, record } = await door([tcpRoute('a', quiet.target)], { descriptors });
    // 15 clients come and go under the high limit; the limit is lowered; the 16th makes the door read it again.
    for (let i = 0; i < 15; i++) {
      const c = await client(d.address.port);
      c.socket.destroy();
      await c.closed;
    }
    await expect.poll(() => d.connections().length, { timeout: 10_000 }).toBe(0);
    limit = 22;
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await client(d.address.port));
    await expect.poll(() => quiet.open, { timeout: 10_000 }).toBe(3);
    const turnedAway = await client(d.address.port);
    await turnedAway.closed;
    expect(turnedAway.received()).toBe('');
    expect(d.connections()).toHaveLength(3);
    expect(record.warnings).toEqual([expect.stringMatching(/^front door: out of file descriptors/)]);
    expect(record.dialFailed).toEqual([]);
    for (const c of held) c.socket.destroy();
    await expect.poll(() => d.connections().length, { timeout: 10_000 }).toBe(0);
    // Room again: the next client is carried to the path.
    await client(d.address.port);
    await expect.poll(() => quiet.open, { timeout: 10_000 }).toBe(1);
    await d.close({ drainTimeout: 0 });
    expect(record.warnings[1]).toBe(
      'front door: serving again after turning away 1 client(s) for lack of file descriptors',
    );
  });

  it('stopAccepting() releases the port and keeps live connections; close() then ends them', async () => {
    const t = await target();
    const { door: d } = await door([tcpRoute('a', t)]);
    const c = await client(d.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    await d.stopAccepting();
    expect(d.accepting).toBe(false);
    const refused = await new Promise<string>((resolve) => {
      const probe = net.connect({ host: '127.0.0.1', port: d.address.port });
      probe.once('connect', () => {
        probe.destroy();
        resolve('connected');
      });
      probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    c.socket.write('still');
    await expect.poll(c.received, { timeout: 10_000 }).toBe(`${BANNER}still`);
    await d.close({ drainTimeout: 0 });
    await c.closed;
    expect(d.connections()).toEqual([]);
  });

  it('close() waits for live connections to finish within drainTimeout, and returns once they have', async () => {
    const t = await target();
    // A drain time no test waits for: close() must return as soon as the client is done.
    const { door: d } = await door([tcpRoute('a', t)], { drainTimeout: 60_000 });
    const c = await client(d.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    let closed = false;
    const closing = d.close().then(() => {
      closed = true;
    });
    expect(d.accepting).toBe(false);
    c.socket.write('during the drain');
    await expect.poll(c.received, { timeout: 10_000 }).toBe(`${BANNER}during the drain`);
    expect(closed).toBe(false);
    c.socket.end();
    await closing;
    expect(d.connections()).toEqual([]);
  });

  it('close() with nothing live returns without waiting for the drain time; dispose closes too', async () => {
    const { door: d } = await door([], { drainTimeout: 60_000 });
    await d.close();
    expect(d.accepting).toBe(false);
    const { door: d2 } = await door([]);
    await d2[Symbol.asyncDispose]();
    expect(d2.accepting).toBe(false);
  });

  it('close() cuts what is left at once with drainTimeout 0: the client and the path both close', async () => {
    const t = await target();
    const a = tcpRoute('a', t);
    const { door: d } = await door([a]);
    const c = await client(d.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    await d.close({ drainTimeout: 0 });
    expect(a.sockets[0]!.destroyed).toBe(true);
    await c.closed;
    expect(d.connections()).toEqual([]);
  });

  it('tells who holds a port in use, with the port, and refuses a host that is not loopback', async () => {
    const { door: first } = await door([]);
    const port = first.address.port;
    const error = await door([], { port }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_PORT_IN_USE',
      message: expect.stringContaining(`front door cannot listen on 127.0.0.1:${port}: the port is in use`),
    });
    expect((error as Error).message).toContain(`ss -ltnp 'sport = :${port}'`);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('EADDRINUSE');
    await expect(door([], { host: '10.0.0.1' })).rejects.toThrow(/front door listen host/);
    expect(first.address.host).toBe('127.0.0.1');
  });
});
