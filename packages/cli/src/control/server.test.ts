import { EventEmitter, on } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TunnelmuxEvent } from '@tunnelmux/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from './client';
import { type ControlLimits, type ControlManager, ControlServer } from './server';

// A manager that answers like the real one and lets a test publish events to `events --follow`.
function fakeManager() {
  const bus = new EventEmitter();
  let seq = 0;
  let subscribers = 0;
  const manager: ControlManager = {
    status: () => ({ primary: 'a', autoFailover: true, degraded: false, paths: [] }),
    list: () => [],
    getMetrics: () => ({}) as ReturnType<ControlManager['getMetrics']>,
    prometheus: async () => '',
    prometheusContentType: 'text/plain',
    setPrimary: () => undefined,
    enableAutoFailover: () => undefined,
    restart: async (id: string) => ({ id }) as Awaited<ReturnType<ControlManager['restart']>>,
    stop: async (id: string) => ({ id }) as Awaited<ReturnType<ControlManager['stop']>>,
    events: {
      subscribe: ((_name: unknown, _filter: unknown, options?: { signal?: AbortSignal }) =>
        (async function* () {
          subscribers += 1;
          try {
            for await (const [event] of on(bus, 'event', { signal: options?.signal }))
              yield event as TunnelmuxEvent;
          } catch {
            // Aborted: the client left.
          } finally {
            subscribers -= 1;
          }
        })()) as unknown as ControlManager['events']['subscribe'],
    },
  };
  const emit = (message: string) =>
    bus.emit('event', { type: 'warning', message, time: Date.now(), seq: ++seq } as TunnelmuxEvent);
  return { manager, emit, subscribers: () => subscribers };
}

interface Reply {
  id: number | null;
  ok?: boolean;
  error?: { message: string; code: string };
  result?: unknown;
  event?: unknown;
}

// One raw connection: what it received, line by line, and when it closed.
function connect(file: string) {
  const socket = net.connect(file);
  const replies: Reply[] = [];
  const waiters: (() => void)[] = [];
  let rest = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    rest += chunk;
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) if (part) replies.push(JSON.parse(part) as Reply);
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    for (const wake of waiters.splice(0)) wake();
  });
  // Resolve once `check` holds; a bound catches a hang.
  const until = (check: () => boolean, what: string, ms = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${what} did not happen within ${ms} ms; got ${JSON.stringify(replies)}`)),
        ms,
      );
      const test = () => {
        if (check()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(test);
      };
      test();
    });
  return {
    socket,
    replies,
    isClosed: () => closed,
    connected: () => new Promise<void>((resolve) => socket.once('connect', () => resolve())),
    replyCount: (n: number) => until(() => replies.length >= n, `${n} replies`),
    closed: (ms?: number) => until(() => closed, 'close', ms),
  };
}

let root: string;
let server: ControlServer;
let events: ReturnType<typeof fakeManager>;
const start = async (limits: Partial<ControlLimits> = {}) => {
  events = fakeManager();
  server = new ControlServer(
    path.join(root, 'run', 'x.sock'),
    { instance: events.manager, paths: events.manager, info: () => ({ pid: 1 }), recent: () => [] },
    limits,
  );
  await server.start();
};
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tmx-srv-'));
  chmodSync(root, 0o755);
});
afterEach(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the control server answers every malformed request and keeps running', () => {
  const bad: [string, string | Buffer, RegExp][] = [
    ['null', 'null', /must be a JSON object, got null/],
    ['a number', '1', /must be a JSON object, got 1/],
    ['a string', '"x"', /must be a JSON object, got "x"/],
    ['true', 'true', /must be a JSON object, got true/],
    ['an array', '[{"id":1,"method":"status"}]', /must be a JSON object, got an array/],
    ['an empty object', '{}', /"id" must be a whole number/],
    ['no id', '{"method":"status"}', /"id" must be a whole number .*got nothing/],
    ['a string id', '{"id":"1","method":"status"}', /"id" must be a whole number .*got "1"/],
    ['no method', '{"id":1}', /"method" must be one of status, list, .*got nothing/],
    ['an unknown method', '{"id":1,"method":"frobnicate"}', /"method" must be one of .*got "frobnicate"/],
    ['a method from Object.prototype', '{"id":1,"method":"toString"}', /"method" must be one of/],
    ['an unknown field', '{"id":1,"method":"status","x":1}', /"x" is not a known field/],
    ['params that are a list', '{"id":1,"method":"status","params":[]}', /"params" must be an object/],
    ['restart without a path', '{"id":1,"method":"restart","params":{}}', /"params.id" must be a path id/],
    ['a negative limit', '{"id":1,"method":"events","params":{"limit":-1}}', /"params.limit" must be/],
    ['an unknown event type', '{"id":1,"method":"events","params":{"types":["nope"]}}', /"params.types.0"/],
    ['invalid JSON', '{"id":1,', /is not JSON/],
    ['binary', Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x80]), /is not JSON/],
  ];
  for (const [what, line, message] of bad) {
    it(`replies with an error to ${what}`, async () => {
      await start();
      const client = connect(server.file);
      client.socket.write(Buffer.concat([Buffer.from(line), Buffer.from('\n')]));
      await client.replyCount(1);
      const [reply] = client.replies;
      expect(reply?.ok).toBe(false);
      expect(reply?.error?.code).toBe('ERR_BAD_REQUEST');
      expect(reply?.error?.message).toMatch(/^\[tunnelmux\] bad control request: /);
      expect(reply?.error?.message).toMatch(message);
      // The same connection still answers a good request, and so does a new one.
      client.socket.write('{"id":7,"method":"status"}\n');
      await client.replyCount(2);
      expect(client.replies[1]).toMatchObject({ id: 7, ok: true, result: { primary: 'a' } });
      client.socket.destroy();
      expect(await request(server.file, 'status')).toMatchObject({ primary: 'a' });
    });
  }

  it('echoes the id of a request it cannot serve, and null when there is no id to echo', async () => {
    await start();
    const client = connect(server.file);
    client.socket.write('{"id":5,"method":"nope"}\nnull\n');
    await client.replyCount(2);
    expect(client.replies.map((r) => r.id)).toEqual([5, null]);
    client.socket.destroy();
  });

  it('shows at most 200 characters of a bad value', async () => {
    await start();
    const client = connect(server.file);
    client.socket.write(`{"id":1,"method":"${'m'.repeat(5000)}"}\n`);
    await client.replyCount(1);
    const message = client.replies[0]?.error?.message ?? '';
    expect(message).toMatch(/… \(\d+ more\)/);
    expect(message.length).toBeLessThan(600);
    client.socket.destroy();
  });

  it('refuses a line longer than the limit with an error, then closes that connection', async () => {
    await start({ maxLineBytes: 1024 });
    const client = connect(server.file);
    client.socket.write('x'.repeat(5000));
    await client.closed();
    expect(client.replies).toEqual([
      {
        id: null,
        ok: false,
        error: { code: 'ERR_LINE_TOO_LONG', message: expect.stringContaining('longer than 1024 bytes') },
      },
    ]);
    expect(await request(server.file, 'status')).toMatchObject({ primary: 'a' });
  });
});

describe('the control server bounds its connections', () => {
  it('refuses connections over the cap with an error line, and takes new ones once others leave', async () => {
    await start({ maxConnections: 3 });
    const held = [connect(server.file), connect(server.file), connect(server.file)];
    // Each answered request proves the server has accepted that connection.
    for (const [i, client] of held.entries()) {
      client.socket.write(`{"id":${i},"method":"status"}\n`);
      await client.replyCount(1);
    }
    const extra = connect(server.file);
    await extra.closed();
    expect(extra.replies).toEqual([
      {
        id: null,
        ok: false,
        error: { code: 'ERR_BUSY', message: expect.stringContaining('3 control connections are open') },
      },
    ]);
    held[0]?.socket.destroy();
    await held[0]?.closed();
    await expect
      .poll(() => request(server.file, 'status').catch(() => undefined))
      .toMatchObject({
        primary: 'a',
      });
    for (const client of held) client.socket.destroy();
  });

  it('lets a client refused on arrival finish writing its request, so ERR_BUSY is not lost to EPIPE', async () => {
    await start({ maxConnections: 1 });
    const held = connect(server.file);
    held.socket.write('{"id":1,"method":"status"}\n');
    await held.replyCount(1);
    const extra = connect(server.file);
    const errors: string[] = [];
    extra.socket.on('error', (error: NodeJS.ErrnoException) => errors.push(String(error.code)));
    // The refusal is already here when the request goes out, as with a server busy in another process.
    await extra.replyCount(1);
    extra.socket.write('{"id":2,"method":"status"}\n');
    await extra.closed();
    expect(errors).toEqual([]);
    expect(extra.replies).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ code: 'ERR_BUSY' }) }),
    ]);
    held.socket.destroy();
  });

  it('closes a connection that sends no request within the idle timeout, with an error line', async () => {
    await start({ idleTimeoutMs: 200 });
    const client = connect(server.file);
    await client.closed();
    expect(client.replies).toEqual([
      { id: null, ok: false, error: { code: 'ERR_IDLE', message: expect.stringContaining('200 ms') } },
    ]);
  });

  it('does not let a client keep a connection by trickling bytes that never end a line', async () => {
    await start({ idleTimeoutMs: 300 });
    const client = connect(server.file);
    await client.connected();
    const trickle = setInterval(() => client.socket.write('{'), 50);
    try {
      await client.closed();
    } finally {
      clearInterval(trickle);
    }
    expect(client.replies[0]?.error?.code).toBe('ERR_IDLE');
  });

  it('keeps an events --follow stream open past the idle timeout', async () => {
    await start({ idleTimeoutMs: 200 });
    const follower = connect(server.file);
    follower.socket.write('{"id":1,"method":"events","params":{"follow":true}}\n');
    await expect.poll(() => events.subscribers()).toBe(1);
    // An idle neighbour opened after the stream began is closed first: proof the idle time has passed.
    const idle = connect(server.file);
    await idle.closed();
    expect(follower.isClosed()).toBe(false);
    events.emit('still here');
    await follower.replyCount(1);
    expect(follower.replies[0]).toMatchObject({ id: 1, event: { type: 'warning', message: 'still here' } });
    follower.socket.destroy();
  });

  it('answers another request on a streaming connection with an error instead of queueing it', async () => {
    await start();
    const follower = connect(server.file);
    follower.socket.write('{"id":1,"method":"events","params":{"follow":true}}\n');
    follower.socket.write('{"id":2,"method":"status"}\n');
    await follower.replyCount(1);
    expect(follower.replies[0]).toMatchObject({ id: 2, ok: false, error: { code: 'ERR_BUSY' } });
    follower.socket.destroy();
  });

  it('ends a follow stream when its client leaves, so it no longer counts against the cap', async () => {
    await start({ maxConnections: 1 });
    const follower = connect(server.file);
    follower.socket.write('{"id":1,"method":"events","params":{"follow":true}}\n');
    await expect.poll(() => events.subscribers()).toBe(1);
    events.emit('first');
    await follower.replyCount(1);
    follower.socket.end();
    await expect.poll(() => events.subscribers()).toBe(0);
    await expect
      .poll(() => request(server.file, 'status').catch(() => undefined))
      .toMatchObject({
        primary: 'a',
      });
  });

  it('answers a request whose client has already half-closed its side', async () => {
    await start();
    const client = connect(server.file);
    client.socket.end('{"id":3,"method":"status"}\n');
    await client.closed();
    expect(client.replies).toEqual([{ id: 3, ok: true, result: expect.objectContaining({ primary: 'a' }) }]);
  });
});

describe('an instance without paths (a relay)', () => {
  it('answers status and info, and refuses path methods with ERR_NO_PATHS naming what it serves', async () => {
    const { manager } = fakeManager();
    server = new ControlServer(path.join(root, 'run', 'r.sock'), {
      instance: { ...manager, status: () => ({ kind: 'relay', sessions: [] }) },
      kind: 'relay',
      info: () => ({ kind: 'relay' }),
      recent: () => [],
    });
    await server.start();
    expect(await request(server.file, 'status')).toEqual({ kind: 'relay', sessions: [] });
    expect(await request(server.file, 'info')).toEqual({ kind: 'relay' });
    const client = connect(server.file);
    client.socket.write(
      '{"id":1,"method":"list"}\n{"id":2,"method":"restart","params":{"id":"a"}}\n{"id":3,"method":"primary","params":{"id":"a"}}\n',
    );
    await client.replyCount(3);
    for (const reply of client.replies) {
      expect(reply.ok).toBe(false);
      expect(reply.error?.code).toBe('ERR_NO_PATHS');
      expect(reply.error?.message).toMatch(/this relay has none; a relay answers status, info, metrics/);
    }
    client.socket.destroy();
  });
});
