import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientSessionEvent } from '../session/client';
import { generateSessionKey } from '../session/key-file';
import { createRelay } from '../session/relay';
import { echoTarget, killablePath } from '../session/test-harness';
import { doorClient } from '../test-utils/door-client';
import { hangingRoute, recordingSource, tcpRoute } from '../test-utils/recording-source';
import { startBannerServer } from '../testing/banner-server';
import { openFrontDoor } from './front-door';
import { createResumeCarrier } from './resume-carrier';

// The resume carrier on its own: a real relay behind killable 127.0.0.1 paths, a front door, and a route source
// that records what the carrier reports to it (no manager, so each test takes well under a second).

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BANNER = 'hello from the target\n';

async function setup(
  options: { clientKey?: Buffer; windowMs?: number; routes?: string[]; dialTimeout?: number } = {},
) {
  const key = generateSessionKey();
  const target = await startBannerServer(BANNER);
  cleanups.push(() => target.close());
  const relay = await createRelay({
    target,
    listen: { host: '127.0.0.1', port: 0 },
    key,
    heartbeatMs: 100,
    deadAfterMs: 600,
  });
  cleanups.push(() => relay.close());
  const paths = await Promise.all(
    (options.routes ?? ['a', 'b']).map((name) => killablePath(name, relay.address)),
  );
  for (const path of paths) cleanups.push(() => path.close());
  const routes = paths.map((path) => tcpRoute(path.name, path.target));
  const { source, record } = recordingSource(routes);
  const events: ClientSessionEvent[] = [];
  const resume = createResumeCarrier(
    {
      key: options.clientKey ?? key,
      heartbeatMs: 100,
      deadAfterMs: 600,
      windowMs: options.windowMs ?? 10_000,
    },
    { event: (event) => events.push(event) },
  );
  const door = await openFrontDoor(source, {
    defaultProtocol: 'tcp',
    defaultFirstByteTimeout: 10_000,
    dialTimeout: options.dialTimeout,
    carrier: resume.carrier,
  });
  cleanups.push(() => door.close({ drainTimeout: 0 }));
  return { relay, paths, routes, source, record, events, resume, door, target };
}

/** A client of the door that collects what it reads, and can wait for an echo. */
async function client(port: number) {
  const c = await doorClient(port, cleanups, { allowHalfOpen: true });
  return {
    ...c,
    /** Send `text` and wait until the echo target has sent it back. */
    async roundTrip(text: string) {
      const want = c.received().length + text.length;
      c.socket.write(text);
      await expect.poll(() => c.received().length, { timeout: 10_000 }).toBe(want);
    },
  };
}

describe('resume carrier', () => {
  it('opens a session through the first route, shows it, counts bytes both ways and settles the meter once at the end', async () => {
    const { door, resume, record, events, routes } = await setup();
    const c = await client(door.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    await c.roundTrip('ping');
    const inBytes = BANNER.length + 4;
    const [connection] = door.connections();
    expect(connection).toMatchObject({ pathId: 'a', attempts: 1, bytesIn: inBytes, bytesOut: 4 });
    expect(Object.keys(connection!)).toEqual(expect.arrayContaining(['bytesIn', 'bytesOut']));
    const [session] = resume.sessions();
    expect(resume.sessions()).toEqual([
      {
        session: expect.stringMatching(/^[0-9a-f]{8}$/),
        client: `127.0.0.1:${c.socket.localPort}`,
        path: 'a',
        attached: true,
        openedAt: connection!.openedAt,
        resumes: 0,
        bytesIn: inBytes,
        bytesOut: 4,
      },
    ]);
    expect(events[0]).toEqual({ type: 'session-opened', session: session!.session, path: 'a' });
    expect(routes.map((r) => r.dials)).toEqual([1, 0]);
    // One meter, for a, still open while the session runs.
    expect(record.meters).toMatchObject([{ pathId: 'a', closed: 0 }]);

    c.socket.end();
    await c.closed;
    await expect.poll(() => record.meters[0]?.closed, { timeout: 10_000 }).toBe(1);
    expect(record.meters).toMatchObject([{ pathId: 'a', bytesIn: inBytes, bytesOut: 4, closed: 1 }]);
    await expect.poll(() => resume.sessions(), { timeout: 10_000 }).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['session-opened', 'session-closed']);
    expect(events[1]).toMatchObject({ session: session!.session });
    expect(record.dialFailed).toEqual([]);
    expect(record.refused).toEqual([]);
  });

  it('leave() moves a session only off a path not in the healthy set, onto another path, and each meter counts only its own bytes', async () => {
    const { door, resume, record, events, routes } = await setup();
    const c = await client(door.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    await c.roundTrip('ping');

    // a is still healthy: nothing is dialled.
    resume.leave(new Set(['a']));
    resume.leave(new Set(['a', 'b']));
    expect(routes.map((r) => r.dials)).toEqual([1, 0]);

    resume.leave(new Set(['b']));
    await expect.poll(() => events.some((e) => e.type === 'session-resumed'), { timeout: 10_000 }).toBe(true);
    expect(events.find((e) => e.type === 'session-resumed')).toMatchObject({ from: 'a', to: 'b' });
    expect(routes.map((r) => r.dials)).toEqual([1, 1]);
    await c.roundTrip('second');
    expect(door.connections()[0]).toMatchObject({ pathId: 'b', bytesIn: BANNER.length + 10, bytesOut: 10 });
    expect(resume.sessions()).toEqual([expect.objectContaining({ path: 'b', resumes: 1, attached: true })]);
    // Once on b, leaving with b healthy changes nothing.
    resume.leave(new Set(['b']));
    expect(routes.map((r) => r.dials)).toEqual([1, 1]);

    c.socket.end();
    await c.closed;
    await expect.poll(() => record.meters.map((m) => m.closed), { timeout: 10_000 }).toEqual([1, 1]);
    expect(record.meters).toEqual([
      expect.objectContaining({ pathId: 'a', bytesIn: BANNER.length + 4, bytesOut: 4 }),
      expect.objectContaining({ pathId: 'b', bytesIn: 6, bytesOut: 6 }),
    ]);
    // Moved, not lost.
    expect(record.dialFailed).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['session-opened', 'session-resumed', 'session-closed']);
  });

  it('counts a carrier lost under a live session against its path and resumes on the other one', async () => {
    const { door, resume, record, events, paths } = await setup();
    const c = await client(door.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    await c.roundTrip('ping');
    paths[0]!.kill();
    await expect.poll(() => events.some((e) => e.type === 'session-resumed'), { timeout: 10_000 }).toBe(true);
    expect(record.dialFailed).toEqual([
      { pathId: 'a', reason: expect.stringMatching(/^a session's carrier was lost: \S/) },
    ]);
    expect(events.find((e) => e.type === 'carrier-lost')).toMatchObject({
      path: 'a',
      session: expect.stringMatching(/^[0-9a-f]{8}$/),
    });
    await c.roundTrip('after');
    expect(c.received()).toBe(`${BANNER}pingafter`);
    expect(resume.sessions()).toEqual([expect.objectContaining({ path: 'b', resumes: 1 })]);
    // a's meter was settled when its carrier closed, before the session ended.
    expect(record.meters).toEqual([
      expect.objectContaining({ pathId: 'a', bytesIn: BANNER.length + 4, bytesOut: 4, closed: 1 }),
      expect.objectContaining({ pathId: 'b', closed: 0 }),
    ]);
  });

  it('with no route, refuses the client once, saying there is no healthy path', async () => {
    const { door, record, events, routes } = await setup({ routes: [] });
    expect(routes).toEqual([]);
    const c = await client(door.address.port);
    const port = c.socket.localPort;
    await c.closed;
    await expect.poll(() => record.refused.length, { timeout: 10_000 }).toBe(1);
    expect(record.refused).toEqual([
      {
        reason: expect.stringMatching(
          /could not open a session to the relay: .*no healthy path \(no paths\)/,
        ),
        client: `127.0.0.1:${port}`,
      },
    ]);
    expect(events).toEqual([
      expect.objectContaining({ type: 'session-lost', reason: 'open-failed', session: '' }),
    ]);
    expect(record.meters).toEqual([]);
  });

  it('when every route fails, refuses the client with each reason and counts each failed dial', async () => {
    const { door, record, paths } = await setup();
    for (const path of paths) await path.close();
    const c = await client(door.address.port);
    await c.closed;
    await expect.poll(() => record.refused.length, { timeout: 10_000 }).toBe(1);
    expect(record.refused[0]!.reason).toMatch(
      /could not open a session to the relay: .*every healthy path failed \(a: dial failed: [^;]+; b: dial failed: /,
    );
    expect(record.dialFailed.length).toBeGreaterThanOrEqual(1);
    expect(record.dialFailed.slice(0, 2).map((f) => f.pathId)).toEqual(['a', 'b']);
    expect(record.dialFailed.every((f) => f.reason.startsWith('dial failed: '))).toBe(true);
  });

  it('a refused key ends the session as key-refused, which is not a refusal by the paths', async () => {
    const { door, record, events } = await setup({ clientKey: generateSessionKey() });
    const c = await client(door.address.port);
    await c.closed;
    await expect.poll(() => events.map((e) => e.type), { timeout: 10_000 }).toEqual(['session-lost']);
    expect(events[0]).toMatchObject({ reason: 'key-refused', session: '' });
    expect(record.refused).toEqual([]);
    expect(record.dialFailed).toEqual([]);
  });

  it('a window that runs out ends the session as window-expired, which is not a refusal', async () => {
    const { door, record, events, paths } = await setup({ windowMs: 400 });
    const c = await client(door.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    for (const path of paths) path.kill();
    await c.closed;
    await expect
      .poll(() => events.filter((e) => e.type === 'session-lost'), { timeout: 10_000 })
      .toEqual([expect.objectContaining({ reason: 'window-expired' })]);
    expect(record.refused).toEqual([]);
    expect(record.meters).toEqual([expect.objectContaining({ pathId: 'a', closed: 1 })]);
  });

  it("settles a path's meter as soon as its carrier closes, while the session waits to resume", async () => {
    const { door, resume, record, paths } = await setup({ windowMs: 30_000 });
    const c = await client(door.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    await c.roundTrip('ping');
    for (const path of paths) path.kill();
    await expect.poll(() => record.meters[0]?.closed, { timeout: 10_000 }).toBe(1);
    expect(record.meters).toEqual([
      expect.objectContaining({ pathId: 'a', bytesIn: BANNER.length + 4, bytesOut: 4 }),
    ]);
    // Still waiting for a path within its window.
    expect(resume.sessions()).toEqual([expect.objectContaining({ attached: false })]);
  });

  it('resumes on the path it left when that is the only one', async () => {
    const { door, resume, events, routes } = await setup({ routes: ['a'] });
    const c = await client(door.address.port);
    await expect.poll(c.received, { timeout: 10_000 }).toBe(BANNER);
    await c.roundTrip('ping');
    // The path resets this one connection and stays up.
    routes[0]!.sockets[0]!.destroy();
    await expect.poll(() => events.some((e) => e.type === 'session-resumed'), { timeout: 10_000 }).toBe(true);
    expect(events.find((e) => e.type === 'session-resumed')).toMatchObject({ from: 'a', to: 'a' });
    await c.roundTrip('pong');
    expect(resume.sessions()).toEqual([expect.objectContaining({ path: 'a', resumes: 1 })]);
  });

  it('a dial under way is aborted when the client is cut, not left to its timeout', async () => {
    const { door, record } = await setup({ routes: [], dialTimeout: 60_000 });
    const hanging = hangingRoute('h');
    record.routes = [hanging];
    const c = await client(door.address.port);
    await expect.poll(() => hanging.signals.length, { timeout: 10_000 }).toBe(1);
    expect(hanging.signals[0]!.aborted).toBe(false);
    await door.close({ drainTimeout: 0 });
    expect(
      c.socket.readableEnded || (await new Promise((resolve) => c.socket.once('end', () => resolve(true)))),
    ).toBe(true);
    // Bounded far below the 60 s dial timeout: only the client's signal can have aborted it.
    await expect.poll(() => hanging.signals[0]!.aborted, { timeout: 5000 }).toBe(true);
  });

  it('does not list a session the relay has not welcomed yet', async () => {
    // A path that accepts and never answers: the handshake never completes.
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const held = new Set<net.Socket>();
    silent.on('connection', (socket) => {
      held.add(socket);
      socket.once('close', () => held.delete(socket));
    });
    cleanups.push(
      () =>
        new Promise((resolve) => {
          for (const socket of held) socket.destroy();
          silent.close(resolve);
        }),
    );
    const { door, resume, record } = await setup({ routes: [] });
    record.routes = [tcpRoute('s', { host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port })];
    const c = await client(door.address.port);
    await expect.poll(() => held.size, { timeout: 10_000 }).toBe(1);
    expect(door.connections()).toEqual([expect.objectContaining({ attempts: 1 })]);
    expect(resume.sessions()).toEqual([]);
    c.socket.destroy();
  });

  it('the client going away ends the session, so the relay closes the target connection', async () => {
    const echo = await echoTarget();
    cleanups.push(() => echo.close());
    const key = generateSessionKey();
    const relay = await createRelay({ target: echo.target, listen: { host: '127.0.0.1', port: 0 }, key });
    cleanups.push(() => relay.close());
    const { source, record } = recordingSource([tcpRoute('a', relay.address)]);
    const resume = createResumeCarrier({ key }, { event: () => undefined });
    const door = await openFrontDoor(source, {
      defaultProtocol: 'tcp',
      defaultFirstByteTimeout: 10_000,
      carrier: resume.carrier,
    });
    cleanups.push(() => door.close({ drainTimeout: 0 }));
    const c = await client(door.address.port);
    await c.roundTrip('ping');
    expect(echo.open).toBe(1);
    c.socket.destroy();
    await expect.poll(() => echo.open, { timeout: 10_000 }).toBe(0);
    await expect.poll(() => relay.sessions(), { timeout: 10_000 }).toEqual([]);
    await expect.poll(() => record.meters[0]?.closed, { timeout: 10_000 }).toBe(1);
    expect(resume.sessions()).toEqual([]);
  });
});
