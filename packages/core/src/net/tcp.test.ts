import { getEventListeners } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectTcp, dialTcp, freePort } from './tcp';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A 127.0.0.1 listener that accepts and holds its connections until the test ends. */
async function listener() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
}

describe('dialTcp', () => {
  it('resolves a connected socket and leaves nothing listening on it or on the signal', async () => {
    const target = await listener();
    const controller = new AbortController();
    const socket = await dialTcp(target, { signal: controller.signal });
    cleanups.push(() => socket.destroy());
    expect(socket.remotePort).toBe(target.port);
    expect(getEventListeners(controller.signal, 'abort')).toEqual([]);
    expect(socket.listenerCount('connect')).toBe(0);
    expect(socket.listenerCount('error')).toBe(0);
    // Aborting after the dial is no business of the dial's any more.
    controller.abort(new Error('late'));
    expect(socket.destroyed).toBe(false);
  });

  it('rejects with the refusal when nothing listens', async () => {
    const port = await freePort();
    await expect(dialTcp({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it("rejects with the signal's reason when aborted before or during the dial, and removes its listener", async () => {
    const target = await listener();
    const before = new AbortController();
    before.abort(new Error('client gone'));
    await expect(dialTcp(target, { signal: before.signal })).rejects.toThrow('client gone');

    const during = new AbortController();
    const dialling = dialTcp(target, { signal: during.signal });
    during.abort(new Error('timed out after 2000 ms'));
    await expect(dialling).rejects.toThrow('timed out after 2000 ms');
    expect(getEventListeners(during.signal, 'abort')).toEqual([]);

    // A reason that is no Error still comes back as one.
    const odd = new AbortController();
    odd.abort('just because');
    await expect(dialTcp(target, { signal: odd.signal })).rejects.toThrow('aborted');
  });

  it('gives up after timeoutMs, naming the target and the limit', async () => {
    const target = await listener();
    // Dials wait on one shared deadline list, which reads performance.now().
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const dialling = dialTcp(target, { timeoutMs: 250 });
    const settled = expect(dialling).rejects.toThrow(
      `connect to 127.0.0.1:${target.port} timed out after 250 ms`,
    );
    // The limit passes before the connect's own tick has run: the dial cannot have connected.
    vi.advanceTimersByTime(251);
    await settled;
  });
});

describe('connectTcp', () => {
  /** Its two callbacks as one promise, and whether either was called before connectTcp returned. */
  function connect(target: { host: string; port: number }, timeoutMs = 5000) {
    let returned = false;
    let early = false;
    let attempt: ReturnType<typeof connectTcp> | undefined;
    const outcome = new Promise<net.Socket>((resolve, reject) => {
      attempt = connectTcp(
        target,
        timeoutMs,
        (socket) => {
          early ||= !returned;
          resolve(socket);
        },
        (error) => {
          early ||= !returned;
          reject(error);
        },
      );
      returned = true;
    });
    return { outcome, attempt: attempt!, early: () => early };
  }

  it('calls back with a connected socket that has no listener of its own left', async () => {
    const target = await listener();
    const { outcome, early } = connect(target);
    const socket = await outcome;
    cleanups.push(() => socket.destroy());
    expect(socket.remotePort).toBe(target.port);
    expect(socket.listenerCount('connect')).toBe(0);
    expect(socket.listenerCount('error')).toBe(0);
    expect(early()).toBe(false);
  });

  it('calls back with the refusal when nothing listens', async () => {
    const port = await freePort();
    await expect(connect({ host: '127.0.0.1', port }).outcome).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('abort: the error callback hears the reason (an Error as it is, anything else wrapped), and only once', async () => {
    const target = await listener();
    const during = connect(target);
    during.attempt.abort(new Error('client gone'));
    await expect(during.outcome).rejects.toThrow('client gone');
    // Aborting again, or after it settled, changes nothing.
    during.attempt.abort(new Error('again'));

    const odd = connect(target);
    odd.attempt.abort('just because');
    await expect(odd.outcome).rejects.toThrow('aborted');
  });

  it('a target that fails at once (a port out of range) is reported after connectTcp returns, not from inside it', async () => {
    const bad = connect({ host: '127.0.0.1', port: 70_000 });
    await expect(bad.outcome).rejects.toMatchObject({ code: 'ERR_SOCKET_BAD_PORT' });
    expect(bad.early()).toBe(false);
  });

  it('gives up after timeoutMs, naming the target and the limit', async () => {
    const target = await listener();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { outcome } = connect(target, 250);
    const settled = expect(outcome).rejects.toThrow(
      `connect to 127.0.0.1:${target.port} timed out after 250 ms`,
    );
    vi.advanceTimersByTime(251);
    await settled;
  });
});
