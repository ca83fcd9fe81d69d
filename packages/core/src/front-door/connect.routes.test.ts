import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRoute, hangingConnectRoute, recordingSource, tcpRoute } from '../test-utils/recording-source';
import { startBannerServer } from '../testing/banner-server';
import { type ConnectOptions, connectWithFailover, OUT_OF_DESCRIPTORS } from './connect';
import type { Route } from './route-source';

// connectWithFailover over real 127.0.0.1 paths: a target that speaks, one that stays silent, one that resets.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A 127.0.0.1 server whose every connection is handled by `onSocket`. */
async function server(onSocket: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => srv.listen({ host: '127.0.0.1', port: 0 }, resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        srv.close(resolve);
      }),
  );
  return { host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port };
}

/** An address where nothing listens. */
async function freePortTarget() {
  const probe = await server(() => undefined);
  await cleanups.pop()!();
  return probe;
}

const options = (overrides: Partial<ConnectOptions> = {}): ConnectOptions => ({
  protocol: 'ssh',
  dialTimeout: 5000,
  firstByteTimeout: 5000,
  signal: new AbortController().signal,
  ...overrides,
});

describe('connectWithFailover over real paths', () => {
  it('ssh: returns the first path that speaks, with its first bytes, after trying each in order', async () => {
    const banner = await startBannerServer('SSH-2.0-hi\r\n');
    cleanups.push(() => banner.close());
    const silent = await server(() => undefined);
    const routes = [tcpRoute('silent', silent), tcpRoute('speaks', banner), tcpRoute('never', banner)];
    const { source, record } = recordingSource(routes);
    const attempted: string[] = [];
    const result = await connectWithFailover(
      source,
      options({ firstByteTimeout: 300, onAttempt: (route) => attempted.push(route.id) }),
    );
    cleanups.push(async () => result.connected?.stream.destroy());
    expect(result.connected?.route.id).toBe('speaks');
    expect(result.connected?.first?.toString('latin1')).toBe('SSH-2.0-hi\r\n');
    expect(result.reasons).toEqual(['silent: no first byte within 300 ms']);
    expect(record.dialFailed).toEqual([{ pathId: 'silent', reason: 'no first byte within 300 ms' }]);
    expect(attempted).toEqual(['silent', 'speaks']);
    expect(routes[0]!.sockets[0]!.destroyed).toBe(true);
  });

  it('ssh: once connected, a path has firstByteTimeout to speak, not what is left of dialTimeout', async () => {
    const silent = await server(() => undefined);
    const { source } = recordingSource([tcpRoute('s', silent)]);
    const result = await connectWithFailover(source, options({ dialTimeout: 100, firstByteTimeout: 600 }));
    expect(result).toEqual({ reasons: ['s: no first byte within 600 ms'] });
  });

  it('ssh: says a path reset the connection, or closed it, before the target spoke', async () => {
    // The reset comes once the dial has connected (a reset at accept fails the dial itself).
    let accepted!: (socket: net.Socket) => void;
    const acceptedSocket = new Promise<net.Socket>((resolve) => {
      accepted = resolve;
    });
    const resets = tcpRoute('r', await server((socket) => accepted(socket)));
    const resetting: Route = {
      id: 'r',
      async dial(signal) {
        const stream = await resets.dial(signal);
        (await acceptedSocket).resetAndDestroy();
        return stream;
      },
    };
    const ends = await server((socket) => socket.end());
    const { source } = recordingSource([resetting, tcpRoute('e', ends)]);
    const result = await connectWithFailover(source, options());
    expect(result.connected).toBeUndefined();
    expect(result.reasons).toEqual([
      expect.stringMatching(/^r: the path reset the connection before the target spoke \(.*ECONNRESET/),
      'e: the path closed the connection before the target spoke',
    ]);
  });

  it('tcp: takes the first path that connects, and a path that resets it afterwards crashes nothing', async () => {
    const resets = await server((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    const { source, record } = recordingSource([tcpRoute('a', resets)]);
    const result = await connectWithFailover(source, options({ protocol: 'tcp' }));
    const stream = result.connected!.stream;
    expect(result.connected?.first).toBeUndefined();
    stream.write('go');
    await new Promise((resolve) => stream.once('close', resolve));
    expect(stream.destroyed).toBe(true);
    expect(record.dialFailed).toEqual([]);
  });

  it('dials nothing for a client that is already gone', async () => {
    const banner = await startBannerServer();
    cleanups.push(() => banner.close());
    const route = tcpRoute('a', banner);
    const { source } = recordingSource([route]);
    const gone = new AbortController();
    gone.abort(new Error('the client went away'));
    const result = await connectWithFailover(source, options({ signal: gone.signal }));
    expect(result).toEqual({ reasons: [] });
    expect(route.dials).toBe(0);
  });

  it('out of file descriptors: the reason names it with the error, and no other path is tried', async () => {
    const emfile = Object.assign(new Error('connect EMFILE'), { code: 'EMFILE' });
    let second = 0;
    const routes: Route[] = [
      { id: 'a', dial: async () => Promise.reject(emfile) },
      {
        id: 'b',
        dial: async () => {
          second += 1;
          throw new Error('not reached');
        },
      },
    ];
    const { source, record } = recordingSource(routes);
    const result = await connectWithFailover(source, options());
    expect(result).toEqual({ reasons: [`${OUT_OF_DESCRIPTORS} (connect EMFILE)`] });
    expect(second).toBe(0);
    expect(record.dialFailed).toEqual([]);
  });

  it('a route that is a plain TCP connect is dialled through callbacks, never through dial(); a refusal fails over', async () => {
    const banner = await startBannerServer('SSH-2.0-hi\r\n');
    cleanups.push(() => banner.close());
    const closed = await freePortTarget();
    const refusing = connectRoute('refuses', closed);
    const speaking = connectRoute('speaks', banner);
    const { source, record } = recordingSource([refusing, speaking]);
    const result = await connectWithFailover(source, options());
    cleanups.push(async () => result.connected?.stream.destroy());
    expect(result.connected?.route.id).toBe('speaks');
    expect(result.connected?.first?.toString('latin1')).toBe('SSH-2.0-hi\r\n');
    expect([refusing.connects, speaking.connects, refusing.dials, speaking.dials]).toEqual([1, 1, 0, 0]);
    expect(record.dialFailed).toEqual([
      { pathId: 'refuses', reason: expect.stringMatching(/^dial failed: .*ECONNREFUSED/) },
    ]);
  });

  it('a route whose connect() declines (returns undefined) is dialled through dial()', async () => {
    const banner = await startBannerServer();
    cleanups.push(() => banner.close());
    const plain = tcpRoute('a', banner);
    const { source } = recordingSource([{ ...plain, connect: () => undefined }]);
    const result = await connectWithFailover(source, options());
    cleanups.push(async () => result.connected?.stream.destroy());
    expect(result.connected?.route.id).toBe('a');
    expect(plain.dials).toBe(1);
  });

  it('a callback dial is aborted at dialTimeout (the next path is tried) and when the client goes away (nothing reported)', async () => {
    const banner = await startBannerServer();
    cleanups.push(() => banner.close());
    const hanging = hangingConnectRoute('hangs');
    const { source, record } = recordingSource([hanging, connectRoute('b', banner)]);
    const result = await connectWithFailover(source, options({ dialTimeout: 100 }));
    cleanups.push(async () => result.connected?.stream.destroy());
    expect(result.connected?.route.id).toBe('b');
    expect(hanging.aborts.map(String)).toEqual(['Error: timed out after 100 ms']);
    expect(record.dialFailed).toEqual([{ pathId: 'hangs', reason: 'dial failed: timed out after 100 ms' }]);

    const client = new AbortController();
    const alone = hangingConnectRoute('alone');
    const second = recordingSource([alone]);
    const connecting = connectWithFailover(second.source, options({ signal: client.signal }));
    client.abort(new Error('the client went away'));
    expect(await connecting).toEqual({ reasons: [] });
    expect(alone.aborts.map(String)).toEqual(['Error: the client went away']);
    expect(second.record.dialFailed).toEqual([]);
  });
});
