import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookDispatcher, type HookFailure } from './dispatcher';
import type { OnConfig } from './schema';
import { alive, closedPort, pathEvent, webhookServer } from './test-support';

let dir: string;
let dispatchers: HookDispatcher[] = [];
let failures: HookFailure[];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-hooks-'));
  failures = [];
});
afterEach(async () => {
  await Promise.all(dispatchers.map((d) => d.close(0)));
  dispatchers = [];
  rmSync(dir, { recursive: true, force: true });
});

function dispatcher(on: OnConfig, defaults: Record<string, number> = {}) {
  const created = new HookDispatcher(on, {
    cwd: dir,
    instance: 'devbox',
    report: (failure) => failures.push(failure),
    defaults: { backoffMs: 10, rateLimitMs: 0, ...defaults },
  });
  dispatchers.push(created);
  return created;
}

// Writes what it got (stdin, environment, folder) to the file named by its argument.
const RECORDER = `import fs from 'node:fs';
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const line = JSON.stringify({ input, env: process.env, cwd: process.cwd() });
  fs.appendFileSync(process.argv[2], line + '\\n');
});`;

function recorded(file: string): { input: string; env: Record<string, string>; cwd: string }[] {
  try {
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

describe('command hooks', () => {
  it('get the event as JSON on stdin and TUNNELMUX_* in a minimal environment, in the config folder', async () => {
    writeFileSync(path.join(dir, 'record.mjs'), RECORDER);
    process.env.TUNNELMUX_TEST_SECRET_TOKEN = 'must-not-leak';
    try {
      const hooks = dispatcher({
        disconnected: [{ command: [process.execPath, 'record.mjs', 'out.ndjson'] }],
      });
      const event = pathEvent('disconnected', 'cf', { service: 'web' });
      hooks.handle(pathEvent('connected'));
      hooks.handle(event);
      const out = path.join(dir, 'out.ndjson');
      await expect.poll(() => recorded(out).length, { timeout: 15_000 }).toBe(1);
      const [call] = recorded(out);
      expect(JSON.parse(call?.input ?? '')).toEqual({ ...event, count: 1, firstTime: event.time });
      expect(call?.env).toMatchObject({
        TUNNELMUX_EVENT: 'disconnected',
        TUNNELMUX_SERVICE: 'web',
        TUNNELMUX_PATH: 'cf',
        TUNNELMUX_COUNT: '1',
        TUNNELMUX_INSTANCE: 'devbox',
        PATH: process.env.PATH,
      });
      expect(call?.env.TUNNELMUX_TEST_SECRET_TOKEN).toBeUndefined();
      expect(call?.cwd).toBe(dir);
      expect(failures).toEqual([]);
    } finally {
      delete process.env.TUNNELMUX_TEST_SECRET_TOKEN;
    }
  });

  it("says 'default' for an event without a service and no path for a path-less event", async () => {
    writeFileSync(path.join(dir, 'record.mjs'), RECORDER);
    const hooks = dispatcher({
      'no-healthy-path': [{ command: [process.execPath, 'record.mjs', 'out.ndjson'] }],
    });
    hooks.handle({ type: 'no-healthy-path', paths: 2, time: Date.now(), seq: 1 });
    const out = path.join(dir, 'out.ndjson');
    await expect.poll(() => recorded(out).length, { timeout: 15_000 }).toBe(1);
    expect(recorded(out)[0]?.env).toMatchObject({ TUNNELMUX_SERVICE: 'default', TUNNELMUX_PATH: '' });
  });

  it('never runs a shell: metacharacters in argv stay plain arguments', async () => {
    writeFileSync(path.join(dir, 'record.mjs'), RECORDER);
    const hooks = dispatcher({
      '*': [{ command: [process.execPath, 'record.mjs', 'out.ndjson', '$(touch pwned)', '; touch pwned2'] }],
    });
    hooks.handle(pathEvent('disconnected'));
    await expect.poll(() => hooks.calls, { timeout: 15_000 }).toBe(1);
    expect(failures).toEqual([]);
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(existsSync(path.join(dir, 'pwned2'))).toBe(false);
  });

  it('kills a hanging hook and its children at the timeout, and reports it once', async () => {
    const script = 'echo $$ > leader.pid; sleep 300 & echo $! > child.pid; wait';
    // 3 s: long enough for sh to write both pid files on a loaded machine before it is killed.
    const hooks = dispatcher({ '*': [{ command: ['sh', '-c', script], timeout: 3000 }] });
    hooks.handle(pathEvent('disconnected'));
    await expect.poll(() => failures.length, { timeout: 20_000 }).toBe(1);
    expect(failures[0]).toMatchObject({
      type: 'hook-failed',
      hook: 'command sh',
      on: 'disconnected',
      pathId: 'cf',
      count: 1,
    });
    expect(failures[0]?.reason).toMatch(/timed out after 3000ms/);
    const leader = Number(readFileSync(path.join(dir, 'leader.pid'), 'utf8'));
    const child = Number(readFileSync(path.join(dir, 'child.pid'), 'utf8'));
    await expect.poll(() => alive(leader) || alive(child), { timeout: 10_000 }).toBe(false);
  });

  it('reports a failing command once per burst, and again after it has succeeded', async () => {
    writeFileSync(path.join(dir, 'flaky.sh'), 'read line; [ -e ok ] || { echo "no ok file" >&2; exit 3; }\n');
    const hooks = dispatcher({ '*': [{ command: ['sh', 'flaky.sh'] }] });
    hooks.handle(pathEvent('disconnected'));
    await expect.poll(() => failures.length, { timeout: 15_000 }).toBe(1);
    expect(failures[0]?.reason).toBe('exited with code 3: no ok file');
    hooks.handle(pathEvent('disconnected'));
    await expect.poll(() => hooks.calls, { timeout: 15_000 }).toBe(2);
    expect(failures).toHaveLength(1);
    writeFileSync(path.join(dir, 'ok'), '');
    hooks.handle(pathEvent('connected'));
    await expect.poll(() => hooks.calls, { timeout: 15_000 }).toBe(3);
    rmSync(path.join(dir, 'ok'));
    hooks.handle(pathEvent('disconnected'));
    await expect.poll(() => failures.length, { timeout: 15_000 }).toBe(2);
  });

  it('coalesces a flapping path into one call that carries the count and the latest event', async () => {
    writeFileSync(path.join(dir, 'record.mjs'), RECORDER);
    const hooks = dispatcher({
      disconnected: [{ command: [process.execPath, 'record.mjs', 'out.ndjson'], rateLimit: 1000 }],
    });
    const out = path.join(dir, 'out.ndjson');
    const first = pathEvent('disconnected');
    hooks.handle(first);
    await expect.poll(() => recorded(out).length, { timeout: 15_000 }).toBe(1);
    // Then the path flaps within the rate limit: four downs (and ups, which this hook does not take).
    const flaps = Array.from({ length: 8 }, (_, i) => pathEvent(i % 2 === 0 ? 'disconnected' : 'connected'));
    for (const event of flaps) hooks.handle(event);
    expect(hooks.waiting).toBe(4);
    await expect.poll(() => recorded(out).length, { timeout: 15_000 }).toBe(2);
    await expect.poll(() => hooks.calls, { timeout: 15_000 }).toBe(2);
    expect(hooks.waiting).toBe(0);
    const calls = recorded(out).map((call) => JSON.parse(call.input));
    const downs = flaps.filter((e) => e.type === 'disconnected');
    expect(calls[0]).toMatchObject({ seq: first.seq, count: 1 });
    expect(calls[1]).toMatchObject({ seq: downs[3]?.seq, count: 4, firstTime: downs[0]?.time });
    expect(recorded(out)[1]?.env.TUNNELMUX_COUNT).toBe('4');
  });

  it('gathers events of one turn of the event loop into the first call', async () => {
    writeFileSync(path.join(dir, 'record.mjs'), RECORDER);
    const hooks = dispatcher({ '*': [{ command: [process.execPath, 'record.mjs', 'out.ndjson'] }] });
    const burst = Array.from({ length: 5 }, () => pathEvent('disconnected'));
    for (const event of burst) hooks.handle(event);
    // handle only records: nothing started within the emit that brought the events.
    expect(hooks.calls).toBe(0);
    await expect.poll(() => hooks.calls, { timeout: 15_000 }).toBe(1);
    const calls = recorded(path.join(dir, 'out.ndjson')).map((call) => JSON.parse(call.input));
    expect(calls).toEqual([expect.objectContaining({ seq: burst[4]?.seq, count: 5 })]);
  });
});

describe('webhook hooks', () => {
  it('retries a 500 and delivers once on the 200, with the event as JSON and the headers', async () => {
    const server = await webhookServer([500, 200]);
    try {
      const hooks = dispatcher({
        failover: [
          {
            webhook: `http://127.0.0.1:${server.port}/hook?token=s3cr3t`,
            headers: { Authorization: 'Bearer abc123' },
          },
        ],
      });
      const event = {
        type: 'failover' as const,
        from: 'a',
        to: 'b',
        reason: 'a is down',
        time: Date.now(),
        seq: 7,
      };
      hooks.handle(event);
      await expect.poll(() => hooks.calls, { timeout: 15_000 }).toBe(1);
      await hooks.close(0);
      expect(server.requests).toHaveLength(2);
      expect(server.requests.map((r) => JSON.parse(r.body))).toEqual([
        { ...event, count: 1, firstTime: event.time },
        { ...event, count: 1, firstTime: event.time },
      ]);
      expect(server.requests[1]?.headers).toMatchObject({
        authorization: 'Bearer abc123',
        'content-type': 'application/json',
      });
      expect(server.requests[1]?.url).toBe('/hook?token=s3cr3t');
      expect(failures).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('sends user:password@ in the URL as Basic auth (fetch refuses credentials in a URL)', async () => {
    const server = await webhookServer([204]);
    try {
      const hooks = dispatcher({ '*': [{ webhook: `http://ops:p%40ss@127.0.0.1:${server.port}/` }] });
      hooks.handle(pathEvent('disconnected'));
      await expect.poll(() => hooks.calls, { timeout: 15_000 }).toBe(1);
      expect(server.requests[0]?.headers.authorization).toBe(
        `Basic ${Buffer.from('ops:p@ss').toString('base64')}`,
      );
      expect(failures).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('refuses to follow a redirect, so the event and its headers never reach another host', async () => {
    const elsewhere = await webhookServer([200]);
    const http = await import('node:http');
    const redirecting = http.createServer((_, response) => {
      response.writeHead(307, { location: `http://127.0.0.1:${elsewhere.port}/stolen` });
      response.end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    const { port } = redirecting.address() as import('node:net').AddressInfo;
    try {
      const hooks = dispatcher({
        '*': [
          { webhook: `http://127.0.0.1:${port}/`, headers: { Authorization: 'Bearer r3d1rect' }, retries: 1 },
        ],
      });
      hooks.handle(pathEvent('disconnected'));
      await expect.poll(() => failures.length, { timeout: 15_000 }).toBe(1);
      expect(elsewhere.requests).toEqual([]);
      expect(failures[0]?.reason).toMatch(/answered with a redirect, which is refused .*\(1 attempt\)/);
      expect(JSON.stringify(failures)).not.toContain('r3d1rect');
    } finally {
      redirecting.closeAllConnections();
      await new Promise<void>((resolve) => redirecting.close(() => resolve()));
      await elsewhere.close();
    }
  });

  it('gives up after its retries on a 500 and reports it without the secret', async () => {
    const server = await webhookServer([503]);
    try {
      const hooks = dispatcher({
        '*': [{ webhook: `http://127.0.0.1:${server.port}/?key=hunter22`, retries: 2 }],
      });
      hooks.handle(pathEvent('disconnected'));
      await expect.poll(() => failures.length, { timeout: 15_000 }).toBe(1);
      expect(server.requests).toHaveLength(3);
      expect(failures[0]?.reason).toMatch(/answered HTTP 503.*\(3 attempts\)/);
      expect(JSON.stringify(failures)).not.toContain('hunter22');
      expect(failures[0]?.hook).toBe(`webhook http://127.0.0.1:${server.port}/?key=***`);
    } finally {
      await server.close();
    }
  });

  it('does not retry a 404 (the URL is wrong; asking again cannot help)', async () => {
    const server = await webhookServer([404]);
    try {
      const hooks = dispatcher({ '*': [{ webhook: `http://127.0.0.1:${server.port}/` }] });
      hooks.handle(pathEvent('disconnected'));
      await expect.poll(() => failures.length, { timeout: 15_000 }).toBe(1);
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('reports a closed port as hook-failed, redacted, without blocking the caller', async () => {
    const port = await closedPort();
    const hooks = dispatcher({
      disconnected: [
        {
          webhook: `http://alice:pa55word@127.0.0.1:${port}/notify?token=t0ken-value&channel=ops`,
          headers: { 'X-Api-Key': 'k3y-value' },
          retries: 2,
        },
      ],
    });
    let turns = 0;
    const ticker = setInterval(() => {
      turns += 1;
    }, 1);
    try {
      // handle only records and schedules: it returns before any attempt has been made.
      hooks.handle(pathEvent('disconnected'));
      expect(hooks.calls).toBe(0);
      expect(failures).toEqual([]);
      await expect.poll(() => failures.length, { timeout: 15_000 }).toBe(1);
      // The event loop kept turning while the hook retried.
      expect(turns).toBeGreaterThan(0);
    } finally {
      clearInterval(ticker);
    }
    const failure = failures[0];
    expect(failure?.reason).toMatch(/could not be reached: ECONNREFUSED.*\(3 attempts\)/);
    expect(failure?.hook).toBe(`webhook http://***:***@127.0.0.1:${port}/notify?token=***&channel=***`);
    const shown = JSON.stringify(failure);
    for (const secret of ['alice', 'pa55word', 't0ken-value', 'k3y-value'])
      expect(shown).not.toContain(secret);
  });

  it('aborts a webhook that never answers at its timeout', async () => {
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as import('node:net').AddressInfo;
    try {
      const hooks = dispatcher({ '*': [{ webhook: `http://127.0.0.1:${port}/`, timeout: 300, retries: 0 }] });
      hooks.handle(pathEvent('disconnected'));
      await expect.poll(() => failures.length, { timeout: 15_000 }).toBe(1);
      expect(failures[0]?.reason).toMatch(/no answer within 300ms/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('the dispatcher', () => {
  it('leaves probe, metrics and log events to hooks that name them', async () => {
    writeFileSync(path.join(dir, 'record.mjs'), RECORDER);
    const hooks = dispatcher({
      '*': [{ command: [process.execPath, 'record.mjs', 'star.ndjson'] }],
      probe: [{ command: [process.execPath, 'record.mjs', 'probe.ndjson'] }],
    });
    hooks.handle({
      type: 'probe',
      ok: true,
      consecutiveFailures: 0,
      pathId: 'cf',
      provider: 'x',
      time: 1,
      seq: 1,
    });
    await expect.poll(() => hooks.calls, { timeout: 15_000 }).toBe(1);
    expect(recorded(path.join(dir, 'probe.ndjson'))).toHaveLength(1);
    expect(recorded(path.join(dir, 'star.ndjson'))).toHaveLength(0);
  });

  it('never reports the failure of a hook that a hook-failed event ran (no loop)', async () => {
    const port = await closedPort();
    const hooks = dispatcher({ 'hook-failed': [{ webhook: `http://127.0.0.1:${port}/`, retries: 0 }] });
    hooks.handle({
      type: 'hook-failed',
      hook: 'command x',
      on: 'failover',
      reason: 'exit 1',
      count: 1,
      time: 1,
      seq: 1,
    });
    await expect.poll(() => hooks.calls, { timeout: 15_000 }).toBe(1);
    expect(failures).toEqual([]);
  });
});
