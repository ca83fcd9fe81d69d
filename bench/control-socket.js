// Issue 18: the control socket under hostile clients. A real `tunnelmux relay` (the lightest instance with a
// control socket) while bad clients send random bytes, truncated JSON, unknown commands, 100 MB lines and
// slow trickles, and a burst of 1,000 parallel connections: the round trip of well-behaved `status` requests
// (p50/p99/max; goal p99 < 100 ms), what the burst got (answers, ERR_BUSY, other), and the relay's RSS.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { main, mib, ms, onCleanup, QUICK, ROOT, reporter, run, sleep, start, summarize } from './lib.js';

const NAME = 'control-socket';
const BIN = path.join(ROOT, 'packages/cli/dist/bin.js');
const REQUESTS = QUICK ? 300 : 2000;
const BURST = 1000;
const GARBAGE_CLIENTS = 20;
const SLOW_CLIENTS = 20;
const HUGE_LINES = QUICK ? 1 : 5;

/** One request on a fresh connection; resolves with the first reply line (read even after a write error). */
function ask(file, line, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    let text = '';
    let failure;
    const done = (reply) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(() => done({ error: { code: 'TIMEOUT' } }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end >= 0) done(JSON.parse(text.slice(0, end)));
    });
    // A refused connection may be closed before our request is written (EPIPE): its answer is still readable.
    socket.on('error', (error) => {
      failure = error.code;
    });
    socket.on('close', () => done({ error: { code: failure ?? 'CLOSED' } }));
  });
}

/** Bad clients that keep going until `stop()`: garbage lines, truncated JSON, unknown methods, trickles. */
function hostileLoad(file) {
  let stopped = false;
  const sockets = new Set();
  const open = () => {
    const socket = net.connect(file);
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
    return socket;
  };
  const lines = [
    () => `${randomBytes(64).toString('latin1').replaceAll('\n', ' ')}\n`,
    () => '{"id":1,"method":"sta\n',
    () => '{"id":2,"method":"frobnicate"}\n',
    () => `{"id":3,"method":"restart","params":{"id":${JSON.stringify('x'.repeat(300))}}}\n`,
  ];
  const garbage = async () => {
    while (!stopped) {
      const socket = open();
      for (let i = 0; i < 50 && !stopped && !socket.destroyed; i++) {
        socket.write(lines[i % lines.length]());
        await sleep(5);
      }
      socket.destroy();
    }
  };
  const slow = async () => {
    while (!stopped) {
      const socket = open();
      for (const byte of Buffer.from('{"id":9,"method":"status"}\n')) {
        if (stopped || socket.destroyed) break;
        socket.write(Buffer.of(byte));
        await sleep(20);
      }
      await sleep(50);
      socket.destroy();
    }
  };
  const workers = [
    ...Array.from({ length: GARBAGE_CLIENTS }, garbage),
    ...Array.from({ length: SLOW_CLIENTS }, slow),
  ];
  return {
    async stop() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
      await Promise.all(workers);
    },
  };
}

/** Send a line of `bytes` (no newline): how much got written before the relay refused and closed. */
function hugeLine(file, bytes) {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let written = 0;
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (text) => {
      reply += text;
    });
    const more = () => {
      while (written < bytes && !socket.destroyed) {
        written += chunk.length;
        if (!socket.write(chunk)) return;
      }
    };
    socket.on('drain', more);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ written, code: /"code":"(\w+)"/.exec(reply)?.[1] }));
    socket.on('connect', more);
  });
}

const rssOf = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

await main(NAME, 8 * 60_000, async () => {
  const out = reporter(NAME);
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing; build it: pnpm turbo run build --filter=@tunnelmux/cli...`);
  out.title(
    `${REQUESTS} well-behaved requests beside ${GARBAGE_CLIENTS} garbage and ${SLOW_CLIENTS} slow clients; ${HUGE_LINES} x 100 MB lines; a burst of ${BURST}`,
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-bench-ctl-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'c.sock');
  const key = path.join(dir, 'k.key');
  const env = { ...process.env, XDG_RUNTIME_DIR: dir, TUNNELMUX_HOME: dir };
  const keygen = await run(process.execPath, [BIN, 'keygen', key], 30_000);
  if (keygen.code !== 0) throw new Error(`keygen failed: ${keygen.stderr}`);
  const relay = start(
    process.execPath,
    [BIN, 'relay', '127.0.0.1:9', '--listen', '127.0.0.1:0', '--key-file', key, '--socket', file, '--json'],
    { env },
  );
  onCleanup(() => relay.stop());
  for (let i = 0; i < 200 && !existsSync(file); i++) await sleep(50);
  if (!existsSync(file))
    throw new Error(`the relay made no control socket: ${relay.lastLines().join(' | ')}`);
  const status = '{"id":1,"method":"status"}\n';
  for (let i = 0; i < 50; i++) await ask(file, status);
  const rssBefore = rssOf(relay.pid);

  // Well-behaved clients alone, then beside the hostile ones.
  const measure = async () => {
    const times = [];
    let failed = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = performance.now();
      const reply = await ask(file, status);
      times.push(performance.now() - t0);
      if (reply.ok !== true) failed++;
    }
    return { ...summarize(times), failed };
  };
  const quiet = await measure();
  out.figure(
    'status round trip, alone',
    `p50 ${ms(quiet.p50, 2)}, p99 ${ms(quiet.p99, 2)}, max ${ms(quiet.max, 2)}`,
  );
  const hostile = hostileLoad(file);
  const huge = [];
  const hugeDone = (async () => {
    for (let i = 0; i < HUGE_LINES; i++) huge.push(await hugeLine(file, 100 * 1024 * 1024));
  })();
  const loaded = await measure();
  await hugeDone;
  await hostile.stop();
  out.figure(
    'status round trip, beside hostile clients',
    `p50 ${ms(loaded.p50, 2)}, p99 ${ms(loaded.p99, 2)}, max ${ms(loaded.max, 2)}; ${loaded.failed} of ${loaded.n} not answered ok (goal p99 < 100 ms)`,
  );
  out.figure(
    '100 MB lines',
    huge.map((h) => `${h.code ?? 'no reply'} after ${mib(h.written)} written`).join('; '),
  );

  // The burst: every connection gets an answer or ERR_BUSY.
  const t0 = performance.now();
  const burst = await Promise.all(Array.from({ length: BURST }, () => ask(file, status, 30_000)));
  const took = performance.now() - t0;
  const count = (test) => burst.filter(test).length;
  const answered = count((r) => r.ok === true);
  const busy = count((r) => r.error?.code === 'ERR_BUSY');
  out.figure(
    `burst of ${BURST} parallel connections`,
    `${answered} answered, ${busy} ERR_BUSY, ${BURST - answered - busy} other (${[...new Set(burst.filter((r) => r.ok !== true && r.error?.code !== 'ERR_BUSY').map((r) => r.error?.code))].join(', ') || 'none'}), in ${ms(took, 0)}`,
  );
  const rssAfter = rssOf(relay.pid);
  out.figure(
    'relay RSS',
    `${mib(rssBefore)} before, ${mib(rssAfter)} after (${mib(rssAfter - rssBefore)} more)`,
  );
  out.note(`p99 goal ${loaded.p99 < 100 ? 'met' : 'MISSED'} beside hostile clients`);
});
