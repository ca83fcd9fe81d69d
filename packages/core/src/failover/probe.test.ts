import { getEventListeners, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dialTcp, freePort } from '../net/tcp';
import { firstBytes, firstChunk, type ProbeOptions, probeTunnel } from './probe';

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
const folders: string[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

// The real timers, kept for the bounds below while a test fakes the global ones.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

// Every wait in these tests is bounded: a probe that hangs fails here, long before vitest's own timeout.
const HANG = 10_000;
async function within<T>(promise: Promise<T>, ms = HANG): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = realSetTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    realClearTimeout(timer);
  }
}

/** Wait, on the real clock and within `HANG`, until `condition()` holds. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + HANG;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`still waiting after ${HANG} ms`);
    await new Promise((resolve) => realSetTimeout(resolve, 5));
  }
}

type Handler = (socket: net.Socket) => void;

/** A loopback server running `handler` on each connection, with how each one ended on the server's side. */
async function serve(handler: Handler, listen: net.ListenOptions = { host: '127.0.0.1', port: 0 }) {
  const endings: string[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', (error: NodeJS.ErrnoException) => endings.push(error.code ?? error.message));
    socket.on('end', () => endings.push('end'));
    handler(socket);
  });
  servers.push(server);
  server.listen(listen);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { endings, port };
}

/** A tunnel dialling a loopback port, which keeps what it handed out so a test can look at it afterwards. */
function tcpTunnel(port: number) {
  const dialled: { stream: net.Socket; signal: AbortSignal; listeners: Record<string, number> }[] = [];
  return {
    dialled,
    dial: async (signal: AbortSignal) => {
      const stream = await dialTcp({ host: '127.0.0.1', port }, { signal });
      sockets.push(stream);
      dialled.push({ stream, signal, listeners: listenerCounts(stream) });
      return stream;
    },
  };
}

const EVENTS = ['data', 'end', 'close', 'error', 'readable'] as const;
const listenerCounts = (stream: NodeJS.EventEmitter) =>
  Object.fromEntries(EVENTS.map((event) => [event, stream.listenerCount(event)]));

/**
 * A tunnel whose far end resets each connection once it is established (a reset racing the handshake would
 * fail the connect instead): the reset is on the wire when `dial` returns, and the probe meets it next.
 */
async function resettingTunnel() {
  const accepted: net.Socket[] = [];
  const { port } = await serve((socket) => accepted.push(socket));
  const tunnel = tcpTunnel(port);
  return {
    dialled: tunnel.dialled,
    dial: async (signal: AbortSignal) => {
      const stream = await tunnel.dial(signal);
      await expect.poll(() => accepted.length).toBe(tunnel.dialled.length);
      accepted.at(-1)?.resetAndDestroy();
      return stream;
    },
  };
}

const banner = (text: string | Buffer) => (socket: net.Socket) => socket.write(text);
const silent = () => undefined;

/** `now()` returning these instants in turn: the probe reads the clock when it starts and when it judges. */
const clock = (...instants: number[]) => {
  const queue = [...instants];
  return () => {
    const next = queue.shift();
    if (next === undefined) throw new Error('the probe read the clock more often than expected');
    return next;
  };
};

/** An ssh probe's options: bounds (5 s) that a healthy loopback target never reaches, with these changes. */
const ssh = (changes: Partial<ProbeOptions> = {}): ProbeOptions => ({
  protocol: 'ssh',
  timeoutMs: 5000,
  maxLatencyMs: 5000,
  ...changes,
});

/** A tcp probe's options: bounds (60 s) so that the probe ends by what the test does, never by its timeout. */
const tcp = (changes: Partial<ProbeOptions> = {}): ProbeOptions => ({
  protocol: 'tcp',
  timeoutMs: 60_000,
  maxLatencyMs: 60_000,
  ...changes,
});

const activeTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('probeTunnel over ssh', () => {
  it('passes on an SSH banner and resets the connection, so it leaves no TIME_WAIT behind', async () => {
    const { endings, port } = await serve(banner('SSH-2.0-test\r\n'));
    const tunnel = tcpTunnel(port);
    const result = await within(probeTunnel(tunnel, ssh()));
    expect(result).toEqual({ ok: true, latencyMs: expect.any(Number), spoke: true });
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    // A reset reaches the server as ECONNRESET; a plain close would be a clean end (and a TIME_WAIT here).
    await expect.poll(() => endings).toEqual(['ECONNRESET']);
    const [{ stream, listeners }] = tunnel.dialled as [(typeof tunnel.dialled)[0]];
    expect(stream.destroyed).toBe(true);
    // Nothing of the probe stays hooked on the stream.
    expect(listenerCounts(stream)).toEqual(listeners);
  });

  it('takes a banner of exactly "SSH-"', async () => {
    const { port } = await serve(banner('SSH-'));
    const result = await within(probeTunnel(tcpTunnel(port), ssh()));
    expect(result).toMatchObject({ ok: true, spoke: true });
  });

  it('fails on a banner that is not SSH, naming its first 40 bytes as latin1', async () => {
    const text = Buffer.concat([
      Buffer.from('HTTP/1.1 400 Bad Request '),
      Buffer.from([0xe9]),
      Buffer.from(' and a long tail past forty bytes\r\n'),
    ]);
    const { endings, port } = await serve(banner(text));
    const result = await within(probeTunnel(tcpTunnel(port), ssh()));
    expect(result).toEqual({
      ok: false,
      error: 'expected an SSH banner, got "HTTP/1.1 400 Bad Request é and a long ta"',
    });
    await expect.poll(() => endings).toEqual(['ECONNRESET']);
  });

  it('fails on a short banner that is not the start of "SSH-", and on one that differs only in its fourth byte', async () => {
    const short = await serve(banner('SX'));
    expect(await within(probeTunnel(tcpTunnel(short.port), ssh()))).toEqual({
      ok: false,
      error: 'expected an SSH banner, got "SX"',
    });
    const near = await serve(banner('SSH_2.0'));
    expect(await within(probeTunnel(tcpTunnel(near.port), ssh()))).toEqual({
      ok: false,
      error: 'expected an SSH banner, got "SSH_2.0"',
    });
  });

  it('reads on when the banner comes in pieces, as long as they are the start of "SSH-"', async () => {
    // A tunnel stream that hands the banner over in three chunks (a framed transport may split it anywhere).
    const stream = new PassThrough();
    for (const piece of ['S', 'SH', '-2.0-test\r\n']) stream.write(piece);
    const result = await within(probeTunnel({ dial: async () => stream }, ssh()));
    expect(result).toEqual({ ok: true, latencyMs: expect.any(Number), spoke: true });
  });

  it('waits for the rest of a banner cut short at "SSH", until the timeout', async () => {
    const { port } = await serve(banner('SSH'));
    const result = await within(probeTunnel(tcpTunnel(port), ssh({ timeoutMs: 200, maxLatencyMs: 200 })));
    expect(result).toEqual({ ok: false, error: 'no answer within 200 ms', inconclusive: false });
  });

  it('judges a tcp target that speaks first on its first chunk, however short', async () => {
    const stream = new PassThrough();
    stream.write('S');
    const result = await within(probeTunnel({ dial: async () => stream }, tcp({ expectFirstByte: true })));
    expect(result).toEqual({ ok: true, latencyMs: expect.any(Number), spoke: true });
  });

  it('fails with the timeout when the target says nothing', async () => {
    const { endings, port } = await serve(silent);
    const result = await within(probeTunnel(tcpTunnel(port), ssh({ timeoutMs: 200, maxLatencyMs: 200 })));
    expect(result).toEqual({ ok: false, error: 'no answer within 200 ms', inconclusive: false });
    await expect.poll(() => endings).toEqual(['ECONNRESET']);
  });

  it('clears its timer when it passes', async () => {
    const { port } = await serve(banner('SSH-2.0-test\r\n'));
    const before = activeTimers();
    const result = await within(
      probeTunnel(tcpTunnel(port), ssh({ timeoutMs: 60_000, maxLatencyMs: 60_000 })),
    );
    expect(result.ok).toBe(true);
    // Its 60-second timer would otherwise stay armed (other tests' timers may come and go, never add one).
    expect(activeTimers()).toBeLessThanOrEqual(before);
  });

  it('fails with the system error when the connection is refused', async () => {
    const port = await freePort();
    const tunnel = tcpTunnel(port);
    const result = await within(probeTunnel(tunnel, ssh()));
    expect(result).toEqual({
      ok: false,
      error: expect.stringMatching(/ECONNREFUSED 127\.0\.0\.1:\d+/),
      inconclusive: false,
    });
    expect(tunnel.dialled).toEqual([]);
  });

  it('fails when the path closes the connection before the banner', async () => {
    const { port } = await serve((socket) => socket.end());
    const result = await within(probeTunnel(tcpTunnel(port), ssh()));
    expect(result).toEqual({
      ok: false,
      error: 'the path closed the connection before the target spoke',
      inconclusive: false,
    });
  });

  it('fails with the reset when the path resets the connection before the banner', async () => {
    const result = await within(probeTunnel(await resettingTunnel(), ssh()));
    expect(result).toEqual({ ok: false, error: 'read ECONNRESET', inconclusive: false });
  });

  it('waits for a slow banner within the timeout, and counts the wait as latency', async () => {
    let send: (() => void) | undefined;
    const { port } = await serve((socket) => {
      send = () => socket.write('SSH-2.0-slow\r\n');
    });
    const tunnel = tcpTunnel(port);
    const probe = probeTunnel(tunnel, ssh({ timeoutMs: 60_000, maxLatencyMs: 250, now: clock(1000, 1250) }));
    // The banner goes out only once the probe is connected and waiting for it.
    await expect.poll(() => send !== undefined && tunnel.dialled.length === 1).toBe(true);
    send?.();
    expect(await within(probe)).toEqual({ ok: true, latencyMs: 250, spoke: true });
  });

  it('fails when the banner comes later than maxLatency, rounding the figure it reports', async () => {
    const { port } = await serve(banner('SSH-2.0-test\r\n'));
    const result = await within(
      probeTunnel(tcpTunnel(port), ssh({ timeoutMs: 60_000, maxLatencyMs: 250, now: clock(1000, 1250.75) })),
    );
    expect(result).toEqual({
      ok: false,
      latencyMs: 250.75,
      spoke: true,
      error: 'latency 251 ms is over maxLatency 250 ms',
    });
  });

  it('measures latency with the monotonic clock when given none', async () => {
    const { port } = await serve(banner('SSH-2.0-test\r\n'));
    const before = performance.now();
    const result = await within(
      probeTunnel(tcpTunnel(port), ssh({ timeoutMs: 60_000, maxLatencyMs: 60_000 })),
    );
    const elapsed = performance.now() - before;
    expect(result.ok).toBe(true);
    // Only that it is a real duration within this test's own span: a sum of two instants would be far larger.
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.latencyMs).toBeLessThanOrEqual(elapsed);
  });
});

describe('probeTunnel over tcp', () => {
  it('passes on a silent target without waiting for its timeout, and notes that it did not speak', async () => {
    const { endings, port } = await serve(silent);
    const tunnel = tcpTunnel(port);
    const result = await within(probeTunnel(tunnel, tcp()));
    expect(result).toEqual({ ok: true, latencyMs: expect.any(Number), spoke: false });
    await expect.poll(() => endings).toEqual(['ECONNRESET']);
    const [{ stream, listeners }] = tunnel.dialled as [(typeof tunnel.dialled)[0]];
    expect(listenerCounts(stream)).toEqual(listeners);
  });

  it('notes that a target spoke first, when it does so within the settle window', async () => {
    const { port } = await serve((socket) => socket.end('hello\n'));
    const result = await within(probeTunnel(tcpTunnel(port), tcp({ settleMs: 30_000 })));
    // It spoke and then closed: that is a target that answered, not a path that closed at once.
    expect(result).toEqual({ ok: true, latencyMs: expect.any(Number), spoke: true });
  });

  it('fails when the path closes the connection at once', async () => {
    const { port } = await serve((socket) => socket.end());
    const tunnel = tcpTunnel(port);
    const result = await within(probeTunnel(tunnel, tcp({ settleMs: 30_000 })));
    expect(result).toEqual({
      ok: false,
      latencyMs: expect.any(Number),
      error: 'the path closed the connection at once (end of stream)',
    });
    const [{ stream, listeners }] = tunnel.dialled as [(typeof tunnel.dialled)[0]];
    expect(stream.destroyed).toBe(true);
    expect(listenerCounts(stream)).toEqual(listeners);
  });

  it('fails with the reset when the path resets the connection at once', async () => {
    const tunnel = await resettingTunnel();
    const result = await within(probeTunnel(tunnel, tcp({ settleMs: 30_000 })));
    expect(result).toEqual({
      ok: false,
      latencyMs: expect.any(Number),
      error: 'the path closed the connection at once (read ECONNRESET)',
    });
    const [{ stream, listeners }] = tunnel.dialled as [(typeof tunnel.dialled)[0]];
    expect(listenerCounts(stream)).toEqual(listeners);
  });

  it('fails when the tunnel closes its stream at once, with no end of stream', async () => {
    const { port } = await serve(silent);
    const tunnel = tcpTunnel(port);
    // A provider that drops the stream it handed out (a channel refused at the far end, say): close, no end.
    const dropping = {
      dial: async (signal: AbortSignal) => {
        const stream = await tunnel.dial(signal);
        setImmediate(() => stream.destroy());
        return stream;
      },
    };
    const result = await within(probeTunnel(dropping, tcp({ settleMs: 60_000 })));
    expect(result).toEqual({
      ok: false,
      latencyMs: expect.any(Number),
      error: 'the path closed the connection at once (end of stream)',
    });
  });

  it('stops settling when the probe times out first', async () => {
    const { port } = await serve(silent);
    const result = await within(probeTunnel(tcpTunnel(port), tcp({ timeoutMs: 200, settleMs: 60_000 })));
    expect(result).toEqual({ ok: true, latencyMs: expect.any(Number), spoke: false });
  });

  it('fails a connect slower than maxLatency, and passes one exactly at it', async () => {
    const { port } = await serve(silent);
    expect(
      await within(
        probeTunnel(tcpTunnel(port), tcp({ timeoutMs: 5000, maxLatencyMs: 100, now: clock(0, 100.4) })),
      ),
    ).toEqual({
      ok: false,
      latencyMs: 100.4,
      spoke: false,
      error: 'latency 100 ms is over maxLatency 100 ms',
    });
    expect(
      await within(
        probeTunnel(tcpTunnel(port), tcp({ timeoutMs: 5000, maxLatencyMs: 100, now: clock(0, 100) })),
      ),
    ).toEqual({ ok: true, latencyMs: 100, spoke: false });
  });

  it('with expectFirstByte, waits for the first bytes but takes any', async () => {
    const { port } = await serve(banner('220 mail.example ESMTP\r\n'));
    const result = await within(
      probeTunnel(
        tcpTunnel(port),
        tcp({ expectFirstByte: true, timeoutMs: 5000, maxLatencyMs: 5000, now: clock(10, 15) }),
      ),
    );
    expect(result).toEqual({ ok: true, latencyMs: 5, spoke: true });
  });

  it('with expectFirstByte, fails a target that stays silent', async () => {
    const { port } = await serve(silent);
    const result = await within(
      probeTunnel(tcpTunnel(port), tcp({ expectFirstByte: true, timeoutMs: 200, maxLatencyMs: 200 })),
    );
    expect(result).toEqual({ ok: false, error: 'no answer within 200 ms', inconclusive: false });
  });
});

describe('probeTunnel over tcp, its settle window on a fake clock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  // Only the timers are fake: the sockets are real, and the window is measured in fake milliseconds.
  const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

  /** A tcp probe of a silent target, started, with its connection made and its two timers armed. */
  async function settling(options: { settleMs?: number; timeoutMs: number }) {
    const { port } = await serve(silent);
    const tunnel = tcpTunnel(port);
    fakeTimers();
    let result: Awaited<ReturnType<typeof probeTunnel>> | undefined;
    let stop: ((reason: Error) => void) | undefined;
    const probe = probeTunnel(
      tunnel,
      tcp({
        onStart: (abort) => {
          stop = abort;
        },
        ...options,
      }),
    ).then((value) => {
      result = value;
      return value;
    });
    // The probe's timeout and its settle window.
    await until(() => tunnel.dialled.length === 1 && vi.getTimerCount() === 2);
    return { probe, tunnel, stop: (reason: Error) => stop?.(reason), done: () => result !== undefined };
  }

  it('watches a silent connection for settleMs, no less and no more, then unhooks itself', async () => {
    const { probe, tunnel, done } = await settling({ settleMs: 1000, timeoutMs: 60_000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(done()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await within(probe)).toMatchObject({ ok: true, spoke: false });
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(tunnel.dialled[0]!.signal, 'abort')).toEqual([]);
  });

  it('watches for 50 ms by default', async () => {
    const { probe, done } = await settling({ timeoutMs: 60_000 });
    await vi.advanceTimersByTimeAsync(49);
    expect(done()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await within(probe)).toMatchObject({ ok: true, spoke: false });
  });

  it('never watches longer than the probe timeout', async () => {
    const { probe, done } = await settling({ settleMs: 60_000, timeoutMs: 300 });
    await vi.advanceTimersByTimeAsync(299);
    expect(done()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await within(probe)).toMatchObject({ ok: true, spoke: false });
  });

  it('stops watching at once when the probe is stopped, and leaves no timer and no listener behind', async () => {
    const { probe, tunnel, stop } = await settling({ settleMs: 60_000, timeoutMs: 60_000 });
    stop(new Error('supervisor stopped'));
    // No fake time passes: only the abort can end the wait.
    expect(await within(probe)).toMatchObject({ ok: true, spoke: false });
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(tunnel.dialled[0]!.signal, 'abort')).toEqual([]);
  });

  it('clears its window when the connection closes within it', async () => {
    const accepted: net.Socket[] = [];
    const { port } = await serve((socket) => accepted.push(socket));
    const tunnel = tcpTunnel(port);
    fakeTimers();
    const probe = probeTunnel(tunnel, tcp({ settleMs: 1000 }));
    await until(() => accepted.length === 1 && vi.getTimerCount() === 2);
    accepted[0]?.end();
    expect(await within(probe)).toMatchObject({
      ok: false,
      error: 'the path closed the connection at once (end of stream)',
    });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('probeTunnel, stopped from outside', () => {
  it('stops at once when the abort passed to onStart is called', async () => {
    const { port } = await serve(silent);
    const result = await within(
      probeTunnel(
        tcpTunnel(port),
        ssh({
          timeoutMs: 60_000,
          maxLatencyMs: 60_000,
          onStart: (abort) => setImmediate(() => abort(new Error('supervisor stopped'))),
        }),
      ),
    );
    expect(result).toEqual({ ok: false, error: 'supervisor stopped', inconclusive: false });
  });

  it('does not dial through a signal that is already aborted', async () => {
    const { port } = await serve(silent);
    const tunnel = tcpTunnel(port);
    const parent = AbortSignal.abort(new Error('shutting down'));
    const result = await within(
      probeTunnel(tunnel, ssh({ timeoutMs: 60_000, maxLatencyMs: 60_000, signal: parent })),
    );
    expect(result).toEqual({ ok: false, error: 'shutting down', inconclusive: false });
    expect(tunnel.dialled).toEqual([]);
  });

  it('stops when its signal aborts mid-probe, and leaves no listener on that signal', async () => {
    const parent = new AbortController();
    const { port } = await serve(() => parent.abort(new Error('path removed')));
    const result = await within(
      probeTunnel(tcpTunnel(port), ssh({ timeoutMs: 60_000, maxLatencyMs: 60_000, signal: parent.signal })),
    );
    expect(result).toEqual({ ok: false, error: 'path removed', inconclusive: false });
    expect(getEventListeners(parent.signal, 'abort')).toEqual([]);
  });

  it('leaves no listener on a signal that never aborted', async () => {
    const parent = new AbortController();
    const { port } = await serve(banner('SSH-2.0-test\r\n'));
    const result = await within(probeTunnel(tcpTunnel(port), ssh({ signal: parent.signal })));
    expect(result.ok).toBe(true);
    expect(getEventListeners(parent.signal, 'abort')).toEqual([]);
  });

  it('reports why it stopped, not what the tunnel said when stopped, and never calls that inconclusive', async () => {
    // A tunnel whose dial gives up with its own error once aborted: here, one saying it ran out of descriptors.
    const tunnel = {
      dial: async (signal: AbortSignal) => {
        await once(signal, 'abort');
        throw Object.assign(new Error('connect EMFILE'), { code: 'EMFILE' });
      },
    };
    const result = await within(probeTunnel(tunnel, tcp({ timeoutMs: 100, maxLatencyMs: 100 })));
    expect(result).toEqual({ ok: false, error: 'no answer within 100 ms', inconclusive: false });
  });

  it('calls a dial that failed because this process is out of descriptors inconclusive', async () => {
    const cause = Object.assign(new Error('connect EMFILE 127.0.0.1:1'), { code: 'EMFILE' });
    const tunnel = { dial: async () => Promise.reject(new Error('dial failed', { cause })) };
    const result = await within(probeTunnel(tunnel, tcp({ timeoutMs: 5000, maxLatencyMs: 5000 })));
    expect(result).toEqual({ ok: false, error: 'dial failed', inconclusive: true });
  });
});

describe('probeTunnel, closing what it dialled', () => {
  it('closes a unix socket plainly, as it cannot be reset', async () => {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-probe-'));
    folders.push(folder);
    const socketPath = path.join(folder, 'ssh.sock');
    const { endings } = await serve(banner('SSH-2.0-test\r\n'), { path: socketPath });
    const dialled: net.Socket[] = [];
    const tunnel = {
      dial: async () => {
        const stream = net.connect({ path: socketPath });
        sockets.push(stream);
        dialled.push(stream);
        await once(stream, 'connect');
        return stream;
      },
    };
    const result = await within(probeTunnel(tunnel, ssh()));
    expect(result).toMatchObject({ ok: true, spoke: true });
    expect(dialled[0]?.destroyed).toBe(true);
    await expect.poll(() => endings).toEqual(['end']);
  });

  it('destroys a stream that is not a socket', async () => {
    const stream = new PassThrough();
    stream.write('SSH-2.0-test\r\n');
    const result = await within(probeTunnel({ dial: async () => stream }, ssh()));
    expect(result).toMatchObject({ ok: true, spoke: true });
    expect(stream.destroyed).toBe(true);
  });
});

describe('firstChunk', () => {
  /** A connected client socket whose server runs `handler`. */
  async function connected(handler: Handler) {
    const { port } = await serve(handler);
    const socket = await dialTcp({ host: '127.0.0.1', port }, { timeoutMs: 5000 });
    sockets.push(socket);
    return socket;
  }

  it('resolves with the chunk as it came, and unhooks itself from the stream and the signal', async () => {
    const socket = await connected(banner('SSH-2.0-x\r\n'));
    const signal = new AbortController().signal;
    const before = listenerCounts(socket);
    const seen: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => seen.push(chunk));
    const chunk = await within(firstChunk(socket, signal));
    expect(chunk.toString()).toBe('SSH-2.0-x\r\n');
    // The very buffer the stream emitted: no copy.
    expect(chunk).toBe(seen[0]);
    socket.removeAllListeners('data');
    expect(listenerCounts(socket)).toEqual(before);
    expect(getEventListeners(signal, 'abort')).toEqual([]);
  });

  it('keeps what comes after the first chunk for whoever reads the stream next', async () => {
    let server: net.Socket | undefined;
    const socket = await connected((accepted) => {
      server = accepted;
      accepted.write('first');
    });
    expect((await within(firstChunk(socket, new AbortController().signal))).toString()).toBe('first');
    server?.write('second');
    // Paused, the stream holds the bytes until someone reads; flowing with no reader, it would drop them.
    await until(() => socket.readableLength > 0);
    socket.resume();
    const [next] = (await within(once(socket, 'data'))) as [Buffer];
    expect(next.toString()).toBe('second');
  });

  it('turns a string chunk back into the bytes it came from', async () => {
    const socket = await connected(banner(Buffer.from([0x53, 0xe9, 0x00, 0xff])));
    socket.setEncoding('latin1');
    const chunk = await within(firstChunk(socket, new AbortController().signal));
    expect(Buffer.isBuffer(chunk)).toBe(true);
    expect([...chunk]).toEqual([0x53, 0xe9, 0x00, 0xff]);
  });

  it('rejects when the stream is destroyed before it yields anything', async () => {
    const socket = await connected(silent);
    const signal = new AbortController().signal;
    const before = listenerCounts(socket);
    const first = firstChunk(socket, signal);
    socket.destroy();
    await expect(within(first)).rejects.toThrow('the path closed the connection before the target spoke');
    expect(listenerCounts(socket)).toEqual(before);
    expect(getEventListeners(signal, 'abort')).toEqual([]);
  });

  it('rejects with the stream error, unhooked', async () => {
    const socket = await connected(silent);
    const before = listenerCounts(socket);
    const first = firstChunk(socket, new AbortController().signal);
    socket.destroy(new Error('torn down'));
    await expect(within(first)).rejects.toThrow('torn down');
    expect(listenerCounts(socket)).toEqual(before);
  });

  it('rejects with the abort reason, or a plain "aborted" when the reason is not an Error', async () => {
    const socket = await connected(silent);
    const reason = new Error('stop now');
    const controller = new AbortController();
    const before = listenerCounts(socket);
    const first = firstChunk(socket, controller.signal);
    controller.abort(reason);
    await expect(within(first)).rejects.toBe(reason);
    expect(listenerCounts(socket)).toEqual(before);
    await expect(within(firstChunk(socket, AbortSignal.abort('just a string')))).rejects.toThrow(/^aborted$/);
    expect(listenerCounts(socket)).toEqual(before);
  });
});

describe('firstBytes', () => {
  it('decodes the first chunk as latin1', async () => {
    const stream = new PassThrough();
    stream.end(Buffer.from([0x53, 0xe9]));
    expect(await within(firstBytes(stream, new AbortController().signal))).toBe('Sé');
  });
});
