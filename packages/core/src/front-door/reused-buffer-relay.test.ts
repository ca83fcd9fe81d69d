import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpPair } from '../test-utils/tcp-pair';
import { tlsPair } from '../test-utils/tls-pair';
import {
  MAX_SPARE_RELAY_BUFFERS,
  RELAY_BUFFER_BYTES,
  relayThroughReusedBuffer,
  spareRelayBuffers,
} from './reused-buffer-relay';

// One direction of the door's relay between real 127.0.0.1 connections: `user` writes into `near`, which is
// relayed into `upstream`, whose far end `path` the test reads.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const c = await tcpPair(cleanups);
  const u = await tcpPair(cleanups);
  return { user: c.far, near: c.near, upstream: u.near, path: u.far };
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Everything `socket` receives until its end, hashed, with the count. */
function drain(socket: net.Socket): Promise<{ bytes: number; hash: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  return new Promise((resolve) => socket.once('end', () => resolve({ bytes, hash: hash.digest('hex') })));
}

/** What `socket` has received so far, as text, read through a plain 'data' listener. */
function collect(socket: net.Socket): () => string {
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return () => text;
}

/** A few turns of the event loop, in which a relay that ignored back-pressure would keep reading. */
async function turns(count: number) {
  for (let i = 0; i < count; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('relayThroughReusedBuffer', () => {
  it('takes two connected TCP sockets on this Node, and leaves any other stream to pipe()', async () => {
    const { near, upstream } = await setup();
    expect(relayThroughReusedBuffer(new PassThrough(), upstream)).toBe(false);
    // A stream that may keep a written chunk after its callback must not be handed the reused buffer.
    expect(relayThroughReusedBuffer(near, new PassThrough())).toBe(false);
    // Caught here if a Node upgrade drops the internals it relies on: the door would quietly be 2x slower.
    expect(relayThroughReusedBuffer(near, upstream)).toBe(true);
  });

  it('refuses a TLS socket on either side and leaves it as it was, so pipe() carries it, but still takes plain ones', async () => {
    const { user, near, upstream, path } = await setup();
    const secure = await tlsPair(cleanups);
    const state = (socket: net.Socket) => ({
      flowing: socket.readableFlowing,
      listeners: ['data', 'end', 'close'].map((event) => socket.listenerCount(event)),
    });
    const before = [secure.near, near, upstream].map(state);
    // A TLS socket is a net.Socket too: only `encrypted` tells it apart, and its handle would take the buffer.
    expect(relayThroughReusedBuffer(secure.near, upstream)).toBe(false);
    expect(relayThroughReusedBuffer(near, secure.near)).toBe(false);
    expect([secure.near, near, upstream].map(state)).toEqual(before);

    // Refused as `from`: its decrypted bytes still come through pipe(), to a plain socket.
    const atPath = collect(path);
    secure.near.pipe(upstream);
    secure.far.write('sealed one way');
    await expect.poll(atPath, { timeout: 10_000 }).toBe('sealed one way');
    // Refused as `to`: a plain socket's bytes still go into it through pipe(), and come out at its far end.
    const atFar = collect(secure.far);
    near.pipe(secure.near);
    user.write('and back');
    await expect.poll(atFar, { timeout: 10_000 }).toBe('and back');

    const plain = await setup();
    expect(relayThroughReusedBuffer(plain.near, plain.upstream)).toBe(true);
  });

  it('carries 32 MiB byte for byte to a path that stalls, stopping reads while a write is pending, and counts right', async () => {
    const { user, near, upstream, path } = await setup();
    path.pause();
    expect(relayThroughReusedBuffer(near, upstream)).toBe(true);
    const payload = randomBytes(32 * 1024 * 1024);
    user.end(payload);
    // The kernel has stopped taking the relay's writes: one is pending, from the reused buffer.
    await expect.poll(() => upstream.writableLength, { timeout: 10_000 }).toBeGreaterThan(0);
    await turns(20);
    // Reading stopped: no more than the one pending read is queued, not the megabytes the user keeps sending.
    expect(upstream.writableLength).toBeLessThanOrEqual(RELAY_BUFFER_BYTES);
    expect(near.bytesRead).toBeLessThan(payload.length);
    const received = drain(path);
    path.resume();
    // Overwriting the buffer under a pending write would show here as different bytes.
    expect(await received).toEqual({ bytes: payload.length, hash: sha(payload) });
    expect(near.bytesRead).toBe(payload.length);
    expect(upstream.bytesWritten).toBe(payload.length);
  });

  it('first sends what the socket had read before the relay began, then the rest, and passes on the end', async () => {
    const { user, near, upstream, path } = await setup();
    near.pause();
    user.write('early ');
    await expect.poll(() => near.readableLength, { timeout: 10_000 }).toBe('early '.length);
    expect(relayThroughReusedBuffer(near, upstream)).toBe(true);
    const received = drain(path);
    user.end('late');
    expect(await received).toEqual({ bytes: 'early late'.length, hash: sha(Buffer.from('early late')) });
  });

  it('passes on an end the socket saw before the relay began', async () => {
    const { user, near, upstream, path } = await setup();
    const ended = new Promise((resolve) => near.once('end', resolve));
    near.on('data', () => undefined);
    user.end();
    await ended;
    near.removeAllListeners('data');
    const received = drain(path);
    expect(relayThroughReusedBuffer(near, upstream)).toBe(true);
    expect(await received).toEqual({ bytes: 0, hash: sha(Buffer.alloc(0)) });
  });

  it('hands a buffer to the next connection only once both sockets of its relay have closed', async () => {
    const first = await setup();
    const before = spareRelayBuffers();
    expect(relayThroughReusedBuffer(first.near, first.upstream)).toBe(true);
    // Taken from the spares if there was one; either way none is added while the relay's sockets are open.
    const taken = Math.max(0, before - 1);
    expect(spareRelayBuffers()).toBe(taken);
    const received = drain(first.path);
    first.user.end('one');
    expect((await received).bytes).toBe(3);
    const closed = (socket: net.Socket) => new Promise((resolve) => socket.once('close', resolve));
    const nearClosed = closed(first.near);
    first.near.destroy();
    await nearClosed;
    // The upstream side may still be writing out of the buffer: it is not given back yet.
    expect(spareRelayBuffers()).toBe(taken);
    const upstreamClosed = closed(first.upstream);
    first.upstream.destroy();
    await upstreamClosed;
    expect(spareRelayBuffers()).toBe(taken + 1);

    // The next relay takes it, and carries its bytes through it intact.
    const second = await setup();
    expect(relayThroughReusedBuffer(second.near, second.upstream)).toBe(true);
    expect(spareRelayBuffers()).toBe(taken);
    const payload = randomBytes(3 * RELAY_BUFFER_BYTES + 17);
    const got = drain(second.path);
    second.user.end(payload);
    expect(await got).toEqual({ bytes: payload.length, hash: sha(payload) });
  });

  it('keeps at most MAX_SPARE_RELAY_BUFFERS spares', async () => {
    const relays = [];
    for (let i = 0; i < MAX_SPARE_RELAY_BUFFERS + 3; i += 1) {
      const { near, upstream } = await setup();
      expect(relayThroughReusedBuffer(near, upstream)).toBe(true);
      relays.push({ near, upstream });
    }
    const closes = relays.flatMap(({ near, upstream }) =>
      [near, upstream].map((socket) => new Promise((resolve) => socket.once('close', resolve))),
    );
    for (const { near, upstream } of relays) {
      near.destroy();
      upstream.destroy();
    }
    await Promise.all(closes);
    expect(spareRelayBuffers()).toBe(MAX_SPARE_RELAY_BUFFERS);
  });
});
