import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingSource } from '../test-utils/recording-source';
import { tcpPair } from '../test-utils/tcp-pair';
import { tlsPair } from '../test-utils/tls-pair';
import { lingeringConnections, splice } from './splice';

// splice() between two real 127.0.0.1 connections: `client`/`upstream` are the door's ends, `user`/`path` the
// far ends the test drives.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// More than loopback's kernel buffers take from a reader that does not read (receive autotuning goes up to
// 32 MiB here, plus 4 MiB to send): the rest waits in the door, queued on its socket.
const PAST_KERNEL_BUFFERS = 64 * 1024 * 1024;

/** Fill the door's client socket until bytes wait on it: `user` does not read. */
async function queueOnClient(user: net.Socket, path: net.Socket, client: net.Socket) {
  user.pause();
  path.write(Buffer.alloc(PAST_KERNEL_BUFFERS, 7));
  await expect.poll(() => client.writableLength, { timeout: 10_000 }).toBeGreaterThan(0);
}

async function setup(lingerMs = 30_000) {
  const c = await tcpPair(cleanups);
  const u = await tcpPair(cleanups);
  const { source, record } = recordingSource();
  // The status entry's side: where the counts are read from.
  let read: (() => { bytesIn: number; bytesOut: number }) | undefined;
  const counts = {
    follow: (reader: () => { bytesIn: number; bytesOut: number }) => {
      read = reader;
    },
    read: () => read?.(),
  };
  // As the door does: the path's first bytes go to the client just before the splice.
  c.near.write('first ');
  splice(c.near, u.near, {
    meter: source.carried('a'),
    counts,
    held: [Buffer.from('held '), Buffer.from('bytes ')],
    lingerMs,
  });
  return { client: c.near, user: c.far, upstream: u.near, path: u.far, record, counts };
}

const collect = (socket: net.Socket) => {
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
  return () => text;
};

describe('splice', () => {
  it('sends the held bytes to the path, then both ways; counts (the first bytes written before included) and meter follow the client socket', async () => {
    const { user, path, record, counts } = await setup();
    const toUser = collect(user);
    const toPath = collect(path);
    await expect.poll(toUser, { timeout: 10_000 }).toBe('first ');
    await expect.poll(toPath, { timeout: 10_000 }).toBe('held bytes ');
    user.write('up');
    path.write('down');
    await expect.poll(toPath, { timeout: 10_000 }).toBe('held bytes up');
    await expect.poll(toUser, { timeout: 10_000 }).toBe('first down');
    // bytesIn: to the client (first + down); bytesOut: from the client (only what was piped here).
    expect(counts.read()).toEqual({ bytesIn: 10, bytesOut: 2 });
    expect(record.meters[0]!.read!()).toEqual({ bytesIn: 10, bytesOut: 2 });
    expect(record.meters[0]!.closed).toBe(0);
  });

  it('when the path closes cleanly, everything it sent still reaches a slow client, and the meter closes once', async () => {
    const { user, path, client, upstream, record } = await setup();
    const payload = randomBytes(4 * 1024 * 1024);
    user.pause();
    let received = 0;
    path.end(payload);
    // The client's end makes the door end its side to the path: the path's socket closes without error.
    user.end();
    await new Promise((resolve) => upstream.once('close', resolve));
    user.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    user.resume();
    await new Promise((resolve) => user.once('end', resolve));
    expect(received).toBe('first '.length + payload.length);
    await expect.poll(() => client.closed && upstream.closed, { timeout: 10_000 }).toBe(true);
    expect(record.meters[0]!.closed).toBe(1);
  });

  it('once a side has closed, its socket holds nothing of the connection: one shared error guard, no relay callback; later close listeners still run', async () => {
    const { user, path, client, upstream } = await setup();
    const toPath = collect(path);
    await expect.poll(toPath, { timeout: 10_000 }).toBe('held bytes ');
    // Added after the splice's own: the emit that runs the splice's still runs it.
    let heardClose = 0;
    client.on('close', () => {
      heardClose += 1;
    });
    user.end();
    path.end();
    await expect.poll(() => client.closed && upstream.closed, { timeout: 10_000 }).toBe(true);
    expect(heardClose).toBe(1);
    const errorGuards = new Set<unknown>();
    for (const socket of [client, upstream]) {
      expect(socket.eventNames()).toEqual(['error']);
      expect(socket.listenerCount('error')).toBe(1);
      errorGuards.add(socket.listeners('error')[0]);
      // The relay's read callback (Node's `onread` slots) let go too.
      const held = Object.getOwnPropertySymbols(socket)
        .filter((symbol) => symbol.description === 'kBuffer' || symbol.description === 'kBufferCb')
        .map((symbol) => (socket as unknown as Record<symbol, unknown>)[symbol]);
      expect(held).toEqual([null, null]);
    }
    // One function for every socket, not a closure each.
    expect(errorGuards.size).toBe(1);
  });

  it("a path stream that is no socket (a provider's own) keeps its listeners once it closed", async () => {
    const c = await tcpPair(cleanups);
    const { source } = recordingSource();
    const upstream = new PassThrough();
    // The provider's own, added before the splice: only sockets are stripped of theirs.
    const providerCleanup = () => undefined;
    upstream.on('close', providerCleanup);
    splice(c.near, upstream, {
      meter: source.carried('a'),
      counts: { follow: () => undefined },
      held: [],
      lingerMs: 30_000,
    });
    upstream.destroy();
    await expect.poll(() => upstream.closed && c.near.closed, { timeout: 10_000 }).toBe(true);
    expect(upstream.listeners('close')).toContain(providerCleanup);
    expect(c.near.eventNames()).toEqual(['error']);
  });

  it('a client that does not read is cut once lingerMs has passed after the path closed', async () => {
    const { user, path, client, upstream } = await setup(100);
    user.pause();
    path.end(randomBytes(4 * 1024 * 1024));
    user.end();
    await new Promise((resolve) => upstream.once('close', resolve));
    await expect.poll(() => client.destroyed, { timeout: 10_000 }).toBe(true);
  });

  it('carries through pipe() both ways when the path is no plain socket (TLS), and counts from the client socket', async () => {
    const c = await tcpPair(cleanups);
    const u = await tlsPair(cleanups);
    const { source, record } = recordingSource();
    const counts = { follow: (_read: () => { bytesIn: number; bytesOut: number }) => undefined };
    splice(c.near, u.near, { meter: source.carried('a'), counts, held: [], lingerMs: 30_000 });
    const toUser = collect(c.far);
    const toPath = collect(u.far);
    c.far.write('up');
    u.far.write('down');
    await expect.poll(toPath, { timeout: 10_000 }).toBe('up');
    await expect.poll(toUser, { timeout: 10_000 }).toBe('down');
    expect(record.meters[0]!.read!()).toEqual({ bytesIn: 4, bytesOut: 2 });
  });

  it('when the path side closes cleanly, what is queued for a slow client still reaches it, then it ends', async () => {
    const { user, path, client, upstream, record } = await setup();
    await queueOnClient(user, path, client);
    // The door's end of the path goes away without an error (as a drain or a clean close does).
    upstream.destroy();
    await new Promise((resolve) => upstream.once('close', resolve));
    expect(client.destroyed).toBe(false);
    expect(lingeringConnections()).toBe(1);
    let received = 0;
    user.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    user.resume();
    await new Promise((resolve) => user.once('end', resolve));
    // Everything the door took for the client, queued ones included, then a clean end.
    expect(received).toBe(client.bytesWritten);
    await expect.poll(() => client.closed, { timeout: 10_000 }).toBe(true);
    expect(record.meters[0]!.closed).toBe(1);
    // Once both sides are closed nothing waits on the linger's timer (it would hold the connection for 30 s).
    expect(lingeringConnections()).toBe(0);
  });

  it('a slow client the path side left cleanly is cut once lingerMs has passed, with bytes still queued', async () => {
    const { user, path, client, upstream } = await setup(100);
    await queueOnClient(user, path, client);
    upstream.destroy();
    await new Promise((resolve) => upstream.once('close', resolve));
    expect(client.destroyed).toBe(false);
    await expect.poll(() => client.destroyed, { timeout: 10_000 }).toBe(true);
    expect(client.writableFinished).toBe(false);
  });

  it('an error on the path side cuts a slow client at once, not after lingerMs', async () => {
    const { user, path, client, upstream, record } = await setup();
    await queueOnClient(user, path, client);
    upstream.destroy(new Error('the path broke'));
    // A clean close would let the client flush for up to lingerMs (30 s).
    await expect.poll(() => client.destroyed, { timeout: 10_000 }).toBe(true);
    expect(client.writableFinished).toBe(false);
    await expect.poll(() => record.meters[0]!.closed, { timeout: 10_000 }).toBe(1);
  });

  it('a path that fails cuts the client at once, and the meter closes once', async () => {
    const { user, path, client, upstream, record } = await setup();
    const toUser = collect(user);
    await expect.poll(toUser, { timeout: 10_000 }).toBe('first ');
    path.resetAndDestroy();
    await expect.poll(() => client.closed && upstream.closed, { timeout: 10_000 }).toBe(true);
    expect(record.meters[0]!.closed).toBe(1);
  });

  it('a client that fails cuts the path at once, though bytes are still queued for it, and the meter closes once', async () => {
    const { user, path, client, upstream, record } = await setup();
    path.pause();
    user.write(randomBytes(4 * 1024 * 1024));
    // The door has read from the client and is blocked on the path, which does not read.
    await expect.poll(() => client.bytesRead, { timeout: 10_000 }).toBeGreaterThan(0);
    user.resetAndDestroy();
    // Cut at once: a clean close would wait up to lingerMs (30 s) for the path to take what is queued.
    await expect.poll(() => upstream.destroyed && client.closed, { timeout: 10_000 }).toBe(true);
    expect(record.meters[0]!.closed).toBe(1);
  });
});
