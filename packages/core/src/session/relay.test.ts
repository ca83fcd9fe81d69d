import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { clientHandshake } from './handshake';
import { MAGIC } from './limits';
import { probeRelay } from './probe';
import { createRelay, type Relay, type RelayEvent } from './relay';
import { dialOver, echoTarget, killablePath, readAll, sessionDoor } from './test-harness';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  options: { relay?: Partial<Parameters<typeof createRelay>[0]>; clientKey?: Buffer; client?: object } = {},
) {
  const key = randomBytes(32);
  const target = await echoTarget();
  const relayEvents: RelayEvent[] = [];
  const relay: Relay = await createRelay({
    target: target.target,
    listen: { host: '127.0.0.1', port: 0 },
    key,
    heartbeatMs: 100,
    deadAfterMs: 500,
    onEvent: (event) => relayEvents.push(event),
    ...options.relay,
  });
  const a = await killablePath('a', relay.address);
  const b = await killablePath('b', relay.address);
  const door = await sessionDoor({
    key: options.clientKey ?? key,
    dial: dialOver([a, b]),
    heartbeatMs: 100,
    deadAfterMs: 500,
    ...options.client,
  });
  cleanups.push(target.close, relay.close, a.close, b.close, door.close);
  return { key, target, relay, relayEvents, a, b, door };
}

function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/**
 * A session that ran and completed (half-closed both ways), its id, and a resume of it by someone who knows the
 * id and the relay's key but not the session's secret: what the relay answers (`key-refused`, `unknown-session`).
 */
async function completedSession(relayOptions: Partial<Parameters<typeof createRelay>[0]> = {}) {
  const context = await setup({ relay: relayOptions });
  const { door, relay, relayEvents, key } = context;
  const socket = await door.connect();
  const reply = readAll(socket);
  socket.end('last words');
  // The echo target answers the half-closed client and then ends its side too.
  expect((await reply).toString()).toBe('last words');
  await expect
    .poll(() => relayEvents.find((e) => e.type === 'session-closed'))
    .toMatchObject({ how: 'complete' });
  const closed = relayEvents.find((e) => e.type === 'session-closed') as { session: string };
  const resumeWithoutKeys = async (id: Buffer) => {
    const attacker = await connectRaw(relay.address.port);
    try {
      await clientHandshake(attacker, {
        key,
        mode: 'resume',
        session: { id, secret: randomBytes(32) },
        timeoutMs: 5000,
      });
      return 'admitted';
    } catch (error) {
      return (error as { reason?: string }).reason;
    } finally {
      attacker.destroy();
    }
  };
  return { ...context, id: Buffer.from(closed.session, 'hex'), resumeWithoutKeys };
}

// Write `data` in pieces, waiting for the echo to catch up to `pauseAt` before calling `midway`.
async function echoThrough(
  socket: net.Socket,
  data: Buffer,
  pauseAt: number,
  midway: () => void,
): Promise<Buffer> {
  const got: Buffer[] = [];
  let received = 0;
  socket.on('data', (chunk: Buffer) => {
    got.push(chunk);
    received += chunk.length;
  });
  socket.write(data.subarray(0, pauseAt));
  await expect.poll(() => received, { timeout: 10_000 }).toBe(pauseAt);
  socket.write(data.subarray(pauseAt));
  midway();
  await expect.poll(() => received, { timeout: 15_000 }).toBe(data.length);
  return Buffer.concat(got);
}

describe('relay and client sessions over 127.0.0.1', () => {
  it('a session survives a SIGKILL-like reset of its path: every byte intact, resumed on the other path', async () => {
    const { door, a, relay, relayEvents, target } = await setup();
    const socket = await door.connect();
    const data = randomBytes(2 * 1024 * 1024);
    const echoed = await echoThrough(socket, data, 256 * 1024, () => a.kill());
    expect(echoed.equals(data)).toBe(true);
    const resumed = door.events.find((e) => e.type === 'session-resumed');
    expect(resumed).toMatchObject({ type: 'session-resumed', from: 'a', to: 'b' });
    expect(relayEvents.some((e) => e.type === 'session-resumed')).toBe(true);
    expect(relay.metrics()).toMatchObject({ sessionsLive: 1, resumes: 1 });
    expect(target.accepted).toBe(1);
    socket.destroy();
  });

  it('a black-holed path is noticed by heartbeats and the session moves on', async () => {
    const { door, a } = await setup();
    const socket = await door.connect();
    const data = randomBytes(300 * 1024);
    const echoed = await echoThrough(socket, data, 100 * 1024, () => a.silence());
    expect(echoed.equals(data)).toBe(true);
    const lost = door.events.find((e) => e.type === 'carrier-lost');
    expect(lost).toMatchObject({ path: 'a', reason: expect.stringMatching(/no frame for 500 ms/) });
    expect(door.events.some((e) => e.type === 'session-resumed')).toBe(true);
    socket.destroy();
  });

  it('migrate() moves a live session to another path; the old carrier closes only after the new one is verified', async () => {
    const { door, a, b } = await setup();
    const socket = await door.connect();
    const data = randomBytes(200 * 1024);
    const echoed = await echoThrough(socket, data, 50 * 1024, () => {
      void door.sessions[0]?.migrate();
    });
    expect(echoed.equals(data)).toBe(true);
    expect(door.sessions[0]?.path).toBe('b');
    await expect.poll(() => a.connections).toBe(0);
    expect(b.connections).toBe(1);
    socket.destroy();
  });

  it('half-close passes through both ways and the session then closes cleanly on both sides', async () => {
    const { door, relay, target } = await completedSession();
    await expect.poll(() => door.events.find((e) => e.type === 'session-closed')).toBeTruthy();
    expect(relay.sessions()).toEqual([]);
    await expect.poll(() => target.open).toBe(0);
  });

  it('the resume window expires: both sides end with the reason and the target connection is closed', async () => {
    const { door, a, b, relay, relayEvents, target } = await setup({
      relay: { windowMs: 400 },
      client: { windowMs: 400 },
    });
    const socket = await door.connect();
    socket.write('x');
    await expect.poll(() => target.open).toBe(1);
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    a.kill();
    b.kill();
    // An abort resets the client connection: it must not look like a clean end of the stream.
    expect(await closed).toBe(true);
    await expect
      .poll(() => relayEvents.find((e) => e.type === 'session-lost'))
      .toMatchObject({
        reason: 'window-expired',
        message: expect.stringMatching(/400 ms window/),
      });
    expect(await door.sessions[0]?.done).toMatchObject({ kind: 'lost', reason: 'window-expired' });
    await expect.poll(() => target.open).toBe(0);
    expect(relay.sessions()).toEqual([]);
    expect(relay.metrics().sessionsLost['window-expired']).toBe(1);
  });

  it('a resume that reaches a relay without the session (it restarted) ends the client with relay-restarted', async () => {
    const { a, key, target } = await setup();
    // The other path leads to another relay (as after a restart): it never heard of the session.
    const other = await createRelay({ target: target.target, listen: { host: '127.0.0.1', port: 0 }, key });
    const elsewhere = await killablePath('b', other.address);
    const door = await sessionDoor({
      key,
      dial: dialOver([a, elsewhere]),
      heartbeatMs: 100,
      deadAfterMs: 500,
    });
    cleanups.push(other.close, elsewhere.close, door.close);
    const socket = await door.connect();
    socket.on('error', () => undefined);
    socket.write('x');
    await expect.poll(() => door.sessions[0]?.id).toBeTruthy();
    a.kill();
    expect(await door.sessions[0]?.done).toMatchObject({ kind: 'lost', reason: 'relay-restarted' });
    expect(door.events.at(-1)).toMatchObject({ type: 'session-lost', reason: 'relay-restarted' });
  });

  it('stopping the relay ends its sessions and closes their target connections', async () => {
    const { door, relay, target } = await setup();
    const socket = await door.connect();
    socket.write('x');
    await expect.poll(() => target.open).toBe(1);
    await relay.close();
    await expect.poll(() => target.open).toBe(0);
    expect(await door.sessions[0]?.done).toMatchObject({ kind: 'lost', reason: 'reset' });
  });

  it('refuses a new session beyond maxSessions', async () => {
    const { door, target } = await setup({ relay: { maxSessions: 1 } });
    const first = await door.connect();
    first.write('x');
    await expect.poll(() => target.open).toBe(1);
    await door.connect();
    expect(await door.sessions[1]?.done).toMatchObject({
      kind: 'lost',
      reason: 'open-failed',
      message: expect.stringMatching(/session limit/),
    });
    expect(target.accepted).toBe(1);
  });
});

describe('relay limits', () => {
  it('1,000 idle sessions fit in the stated budget: under 256 MiB of RSS for both ends and the target together', async () => {
    // Default heartbeats (1 s): idle sessions, not 1,000 fast-heartbeat ones loading a busy machine.
    const heartbeats = { heartbeatMs: 1000, deadAfterMs: 10_000 };
    const { door, relay, target } = await setup({ relay: heartbeats, client: heartbeats });
    const before = process.memoryUsage().rss;
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 1000; i++) sockets.push(await door.connect());
    await expect.poll(() => relay.metrics().sessionsLive, { timeout: 60_000 }).toBe(1000);
    const grown = process.memoryUsage().rss - before;
    expect(target.open).toBe(1000);
    expect(grown).toBeLessThan(256 * 1024 * 1024);
    for (const socket of sockets) socket.destroy();
    await expect.poll(() => relay.metrics().sessionsLive, { timeout: 30_000 }).toBe(0);
  }, 120_000);
});

describe('relay security', () => {
  it('a wrong key reaches nothing: refused, logged with the peer address, slowed down', async () => {
    const { door, target, relayEvents } = await setup({ clientKey: randomBytes(32) });
    await door.connect();
    expect(await door.sessions[0]?.done).toMatchObject({ kind: 'lost', reason: 'key-refused' });
    await expect.poll(() => relayEvents.filter((e) => e.type === 'key-refused').length).toBe(1);
    await door.connect();
    await door.sessions[1]?.done;
    await expect.poll(() => relayEvents.filter((e) => e.type === 'key-refused').length).toBe(2);
    const refusals = relayEvents.filter((e) => e.type === 'key-refused');
    expect(refusals[0]).toMatchObject({ peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/), failures: 1 });
    expect(refusals[1]).toMatchObject({ failures: 2 });
    expect((refusals[1] as { delayMs: number }).delayMs).toBeGreaterThan(
      (refusals[0] as { delayMs: number }).delayMs,
    );
    expect(target.accepted).toBe(0);
  });

  it('a recorded handshake replayed byte for byte is refused and opens nothing', async () => {
    const { door, a, relay, target } = await setup();
    const socket = await door.connect();
    socket.write('hello');
    await expect.poll(() => target.accepted).toBe(1);
    // The path saw the client's hello (8+2+32 bytes) then its proof (32): replay exactly that.
    const recorded = a.recorded().subarray(0, MAGIC.length + 2 + 32 + 32);
    const replay = await connectRaw(relay.address.port);
    const answer = readAll(replay);
    replay.write(recorded);
    const reply = await answer;
    // The relay's challenge (new nonce), then the refusal status 4 (key refused).
    expect(reply.length).toBe(MAGIC.length + 2 + 64 + 1);
    expect(reply[reply.length - 1]).toBe(4);
    expect(target.accepted).toBe(1);
    socket.destroy();
  });

  it('a resume naming a live session but lacking its keys is refused, and the live session is untouched', async () => {
    const { door, relay, key, target } = await setup();
    const socket = await door.connect();
    const data = randomBytes(64 * 1024);
    const first = await echoThrough(socket, data, 1024, () => undefined);
    expect(first.equals(data)).toBe(true);
    const id = Buffer.from(door.sessions[0]?.id as string, 'hex');
    // The attacker knows the session id (it crossed a path in the clear) and even the shared key.
    const attacker = await connectRaw(relay.address.port);
    await expect(
      clientHandshake(attacker, {
        key,
        mode: 'resume',
        session: { id, secret: randomBytes(32) },
        timeoutMs: 5000,
      }),
    ).rejects.toMatchObject({ reason: 'key-refused' });
    attacker.destroy();
    expect(relay.sessions()).toMatchObject([{ attached: true, resumes: 0 }]);
    const again = randomBytes(32 * 1024);
    const echoed: Buffer[] = [];
    socket.removeAllListeners('data');
    socket.on('data', (chunk: Buffer) => echoed.push(chunk));
    socket.write(again);
    await expect.poll(() => Buffer.concat(echoed).length).toBe(again.length);
    expect(Buffer.concat(echoed).equals(again)).toBe(true);
    expect(target.accepted).toBe(1);
    socket.destroy();
  });

  it('a session that completed stays resumable for its window only with its keys: a resume lacking them is refused', async () => {
    const { relay, target, id, resumeWithoutKeys } = await completedSession();
    // Kept for a late resume (its last acknowledgement may have been lost), yet no longer a live session.
    expect(relay.sessions()).toEqual([]);
    expect(await resumeWithoutKeys(id)).toBe('key-refused');
    expect(target.accepted).toBe(1);
  });

  it('a completed session is forgotten once its window has passed: a resume then finds no session', async () => {
    const { id, resumeWithoutKeys } = await completedSession({ windowMs: 200 });
    // Each try is a real handshake; the window is 200 ms, the poll's limit 5 s.
    await expect.poll(() => resumeWithoutKeys(id), { timeout: 5000, interval: 100 }).toBe('unknown-session');
  });

  it('a stranger who is not a tunnelmux client is cut off without an answer', async () => {
    const { relay, target, relayEvents } = await setup();
    const stranger = await connectRaw(relay.address.port);
    const answer = readAll(stranger);
    stranger.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await answer).length).toBe(0);
    expect(target.accepted).toBe(0);
    await expect
      .poll(() => relayEvents.find((e) => e.type === 'handshake-failed'))
      .toMatchObject({ reason: 'bad-handshake' });
  });

  it('probes prove the key and report whether the target is reachable, holding no session', async () => {
    const { relay, key, target } = await setup();
    expect(await probeRelay(await connectRaw(relay.address.port), { key })).toMatchObject({ ok: true });
    expect(relay.sessions()).toEqual([]);
    await expect(
      probeRelay(await connectRaw(relay.address.port), { key: randomBytes(32) }),
    ).rejects.toMatchObject({
      reason: 'key-refused',
    });
    await target.close();
    const down = await probeRelay(await connectRaw(relay.address.port), { key });
    expect(down).toMatchObject({ ok: false, message: expect.stringMatching(/ECONNREFUSED/) });
  });
});
