import { EventEmitter } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from './client';
import { LineSplitter } from './lines';
import { CONTROL_METHODS } from './protocol';
import { parseRequest } from './request';
import { type ControlManager, ControlServer } from './server';

// Property-based fuzzing of the control protocol; fast-check prints the seed and the shrunk input of a failure.
// TUNNELMUX_FUZZ_RUNS lowers the runs for `pnpm mutation` only; CI runs the default.
const RUNS = Number(process.env.TUNNELMUX_FUZZ_RUNS ?? 10_000);
// Only a hang is caught: on a loaded two-core machine 10,000 runs may take a minute.
const FUZZ_TIMEOUT = 300_000;

const manager = {
  status: () => ({ primary: 'a', autoFailover: true, degraded: false, paths: [] }),
  list: () => [],
  getMetrics: () => ({}),
  prometheus: async () => '',
  prometheusContentType: 'text/plain',
  setPrimary: () => undefined,
  enableAutoFailover: () => undefined,
  restart: async (id: string) => ({ id }),
  stop: async (id: string) => ({ id }),
  events: { subscribe: () => new EventEmitter() },
} as unknown as ControlManager;

const goodRequest = fc.record({
  id: fc.nat(),
  method: fc.constantFrom(...CONTROL_METHODS),
  params: fc.option(
    fc.oneof(
      fc.record({ id: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/) }),
      fc.record({ limit: fc.integer({ min: -1, max: 200_000 }), follow: fc.constant(false) }),
      fc.record({ enabled: fc.boolean() }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
    ),
    { nil: undefined },
  ),
});

/** Any line a client might send: garbage, truncated JSON, unknown methods, wrong params, good requests. */
const line = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
  goodRequest.map((value) => JSON.stringify(value)),
  goodRequest.chain((value) => {
    const text = JSON.stringify(value);
    return fc.nat(text.length - 1).map((cut) => text.slice(0, cut));
  }),
  fc
    .record({ id: fc.oneof(fc.nat(), fc.string(), fc.double()), method: fc.string({ maxLength: 12 }) })
    .map((value) => JSON.stringify(value)),
);

// The same socket lines the splitter sees: no newline inside; a line of blanks is skipped without an answer.
const socketLine = line.map((text) => text.replace(/\n/g, ' '));

describe('the control protocol, fuzzed', () => {
  it(
    'parses any line into a request or a clear refusal, without throwing',
    () => {
      fc.assert(
        fc.property(line, (text) => {
          const parsed = parseRequest(text);
          if (parsed.ok) {
            expect(CONTROL_METHODS).toContain(parsed.request.method);
            expect(Number.isSafeInteger(parsed.request.id) && parsed.request.id >= 0).toBe(true);
          } else {
            expect(parsed.message).toMatch(/^\[tunnelmux\] bad control request: \S/);
            // A bad value is echoed clipped, so an answer stays short whatever the line held.
            expect(parsed.message.length).toBeLessThan(1200);
            expect(parsed.id === null || (Number.isSafeInteger(parsed.id) && parsed.id >= 0)).toBe(true);
          }
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'splits lines the same way however the bytes are chunked, and refuses a line over the limit',
    () => {
      fc.assert(
        fc.property(
          fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 8 }),
          fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
          fc.integer({ min: 1, max: 64 }),
          (parts, cuts, limit) => {
            const whole = Buffer.from(parts.join('\n'));
            const splitter = new LineSplitter(limit);
            const got: string[] = [];
            let tooLong = false;
            let at = 0;
            for (let i = 0; at < whole.length && !tooLong; i++) {
              const size = cuts[i % cuts.length]!;
              const result = splitter.push(whole.subarray(at, at + size));
              got.push(...result.lines);
              tooLong = result.tooLong;
              at += size;
            }
            const lines = whole.toString('utf8').split('\n');
            const complete = lines.slice(0, -1).map((text) => Buffer.from(text));
            const firstLong = [...complete, Buffer.from(lines.at(-1) ?? '')].findIndex(
              (bytes) => bytes.length > limit,
            );
            // Everything before the first long line comes out intact; that line, and nothing after, is refused.
            const expected = firstLong === -1 ? complete : complete.slice(0, firstLong);
            expect(got.map((text) => Buffer.from(text))).toEqual(expected);
            expect(tooLong).toBe(firstLong !== -1);
          },
        ),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT,
  );
});

describe('a live control server, fuzzed', () => {
  let root: string;
  let server: ControlServer;
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'tmx-fuzz-'));
    chmodSync(root, 0o755);
    server = new ControlServer(path.join(root, 'run', 'f.sock'), {
      instance: manager,
      paths: manager,
      info: () => ({ pid: 1 }),
      recent: () => [],
    });
    await server.start();
  });
  afterAll(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it(
    'answers every line on one connection, bad ones with ERR_BAD_REQUEST, and stays open',
    async () => {
      const client = reader(net.connect(server.file));
      await fc.assert(
        fc.asyncProperty(socketLine, async (text) => {
          const before = client.replies.length;
          client.socket.write(`${text}\n`);
          if (!text.trim()) {
            // A blank line earns no answer: check with a request that does.
            client.socket.write('{"id":0,"method":"info"}\n');
            const [reply] = await client.next(before + 1);
            expect(reply).toMatchObject({ id: 0, ok: true });
            return;
          }
          const [reply] = await client.next(before + 1);
          if (parseRequest(text).ok) expect(reply).toHaveProperty('id', JSON.parse(text).id);
          if (reply?.ok === false) {
            // A closed list: a new code must be added here on purpose (and documented in the protocol table).
            expect(reply.error?.code).toMatch(
              /^ERR_(BAD_REQUEST|NO_PATHS|NO_SERVICE|NO_DASHBOARD|NO_RELOAD|CONFIG|USAGE|TUNNELMUX)$/,
            );
            expect(reply.error?.message).toMatch(/^\[tunnelmux\] /);
          } else expect(reply?.ok).toBe(true);
          expect(client.isClosed()).toBe(false);
        }),
        // Events with follow are not generated: a stream owns its connection (server.test.ts covers it).
        { numRuns: RUNS },
      );
      client.socket.destroy();
    },
    FUZZ_TIMEOUT,
  );

  it('refuses a 100 MB line after reading little of it, closes that client, and serves others', async () => {
    const client = net.connect(server.file);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let written = 0;
    const outcome = reader(client);
    await new Promise<void>((resolve) => {
      const more = () => {
        while (written < 100 * 1024 * 1024 && !client.destroyed) {
          written += chunk.length;
          if (!client.write(chunk)) return;
        }
        client.end();
      };
      client.on('drain', more);
      client.on('close', () => resolve());
      more();
    });
    expect(outcome.replies).toEqual([
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'ERR_LINE_TOO_LONG' }) }),
    ]);
    // The server stopped reading at the 64 KiB limit: the client could only fill the socket buffers.
    expect(written).toBeLessThan(16 * 1024 * 1024);
    expect(await request(server.file, 'status')).toMatchObject({ primary: 'a' });
  });

  it('serves slow writers and the clients beside them', async () => {
    const slow = Array.from({ length: 20 }, () => reader(net.connect(server.file)));
    const body = (i: number) => Buffer.from(`{"id":${i},"method":"status"}\n`);
    // Each slow writer sends its request a byte at a time; all of them together, interleaved.
    const trickles = slow.map(async (client, i) => {
      for (const byte of body(i)) {
        client.socket.write(Buffer.from([byte]));
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return client.next(1);
    });
    const latencies = await wellBehaved(server.file, 200);
    const answers = await Promise.all(trickles);
    expect(answers.map(([reply]) => reply)).toEqual(
      slow.map((_, i) => expect.objectContaining({ id: i, ok: true })),
    );
    for (const client of slow) client.socket.destroy();
    const p99 = percentile(latencies, 0.99);
    console.log(
      `control socket beside 20 slow writers: p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`,
    );
    // Only a hang is caught here; the p99 goal (100 ms) is measured in bench/control-socket.js.
    expect(p99).toBeLessThan(5000);
  });

  it('takes 1,000 parallel connections: the excess gets ERR_BUSY and is closed, the rest are answered', async () => {
    const clients = Array.from({ length: 1000 }, () => reader(net.connect(server.file)));
    for (const [i, client] of clients.entries()) client.socket.write(`{"id":${i},"method":"status"}\n`);
    await Promise.all(clients.map((client) => client.next(1)));
    const busy = clients.filter((client) => client.replies[0]?.error?.code === 'ERR_BUSY');
    const answered = clients.filter((client) => client.replies[0]?.ok === true);
    expect(busy.length + answered.length).toBe(1000);
    expect(answered.length).toBeLessThanOrEqual(server.limits.maxConnections);
    expect(busy.length).toBeGreaterThanOrEqual(1000 - server.limits.maxConnections);
    await Promise.all(busy.map((client) => client.closed()));
    for (const client of clients) client.socket.destroy();
    await expect
      .poll(() => request(server.file, 'status').catch(() => undefined))
      .toMatchObject({ primary: 'a' });
  });
});

interface Reply {
  id: number | null;
  ok?: boolean;
  error?: { message: string; code: string };
}

/** Collect a socket's reply lines; `next(n)` resolves once n have come (or fails on close or a hang). */
function reader(socket: net.Socket) {
  const replies: Reply[] = [];
  let rest = '';
  let closed = false;
  const wake = new EventEmitter();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    rest += chunk;
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) if (part) replies.push(JSON.parse(part) as Reply);
    wake.emit('change');
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    wake.emit('change');
  });
  const until = (check: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        wake.off('change', test);
        reject(new Error(`${what} did not happen within 20 s; got ${JSON.stringify(replies.slice(-3))}`));
      }, 20_000);
      function test() {
        if (!check()) return;
        clearTimeout(timer);
        wake.off('change', test);
        resolve();
      }
      wake.on('change', test);
      test();
    });
  return {
    socket,
    replies,
    isClosed: () => closed,
    next: async (count: number) => {
      await until(() => replies.length >= count || closed, `reply ${count}`);
      return replies.slice(count - 1);
    },
    closed: () => until(() => closed, 'close'),
  };
}

/** `count` status requests one after another on fresh connections; their round-trip times in ms. */
async function wellBehaved(file: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await request(file, 'status');
    times.push(performance.now() - t0);
  }
  return times;
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
