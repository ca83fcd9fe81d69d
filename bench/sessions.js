// Issue 14: resumable sessions, in one process (client side, relay, target and paths all on 127.0.0.1).
// 1. stall after the carrying path's connection is reset (20 resets; goal p99 < 1 s),
// 2. throughput of one upload with resume on against a plain forwarder (resume off),
// 3. memory of 1,000 idle sessions (client side + relay + target together).
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HOST, main, mib, ms, onCleanup, QUICK, ROOT, ratio, reporter, summarize } from './lib.js';

const NAME = 'sessions';
const KILLS = QUICK ? 5 : 20;
const UPLOAD = (QUICK ? 16 : 64) * 1024 * 1024;
const IDLE = QUICK ? 200 : 1000;

function listen(server) {
  return new Promise((resolve) =>
    server.listen({ host: HOST, port: 0 }, () => resolve(server.address().port)),
  );
}

// A path: forwards to `port`; `reset()` kills its live connections like a dying tunnel process.
async function forwarder(port) {
  const live = new Set();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: HOST, port });
    const pair = [inbound, outbound];
    live.add(pair);
    const close = () => {
      live.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    for (const s of pair) s.on('error', close).on('close', close);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  const at = await listen(server);
  onCleanup(() => server.close());
  return {
    port: at,
    reset() {
      for (const [a, b] of live) {
        a.resetAndDestroy();
        b.destroy();
      }
      live.clear();
    },
  };
}

function dialer(paths) {
  let next = 0;
  return async ({ avoid }) => {
    for (let i = 0; i < paths.length; i++) {
      const p = paths[next++ % paths.length];
      if (p.name === avoid && paths.length > 1) continue;
      const socket = await new Promise((resolve, reject) => {
        const s = net.connect({ host: HOST, port: p.port, noDelay: true });
        s.once('connect', () => resolve(s)).once('error', reject);
      });
      return { socket, path: p.name };
    }
    throw new Error('no path');
  };
}

// One client socket wrapped in a session (like the front door would), and its other end for the test.
async function sessionSocket(session, options) {
  const server = net.createServer({ allowHalfOpen: true });
  const port = await listen(server);
  const accepted = new Promise((resolve) => server.once('connection', resolve));
  const local = net.connect({ host: HOST, port, allowHalfOpen: true });
  const inside = await accepted;
  server.close();
  const handle = session.resumableSession(inside, options);
  return { local, handle };
}

await main(NAME, 8 * 60_000, async () => {
  const session = await import(pathToFileURL(path.join(ROOT, 'packages/core/dist/session/index.js')).href);
  const out = reporter(NAME);
  out.title('resume stall, throughput and idle memory of resumable sessions (all in one process)');
  const key = randomBytes(32);

  const echo = net.createServer({ allowHalfOpen: true }, (s) => s.on('error', () => undefined).pipe(s));
  const echoPort = await listen(echo);
  onCleanup(() => echo.close());
  let sunk = 0;
  const sink = net.createServer((s) => s.on('error', () => undefined).on('data', (c) => (sunk += c.length)));
  const sinkPort = await listen(sink);
  onCleanup(() => sink.close());

  // 1. Stall after a reset of the carrying connection.
  const relay = await session.createRelay({
    target: { host: HOST, port: echoPort },
    listen: { host: HOST, port: 0 },
    key,
  });
  onCleanup(() => relay.close());
  const a = { name: 'a', ...(await forwarder(relay.address.port)) };
  const b = { name: 'b', ...(await forwarder(relay.address.port)) };
  const stalls = [];
  const gaps = [];
  const { local, handle } = await sessionSocket(session, {
    key,
    dial: dialer([a, b]),
    onEvent: (e) => e.type === 'session-resumed' && stalls.push(e.stallMs),
  });
  let last = performance.now();
  local.on('data', () => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  });
  const ticker = setInterval(() => local.write('tick\n'), 10);
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < KILLS; i++) {
    const before = stalls.length;
    (handle.path === 'a' ? a : b).reset();
    const deadline = Date.now() + 10_000;
    while (stalls.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
  }
  clearInterval(ticker);
  const s = summarize(stalls);
  out.figure('resumes after a reset', `${stalls.length}/${KILLS}`);
  out.figure(
    'stall after reset (client: loss to verified resume)',
    `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)}`,
  );
  out.figure('longest gap between echoed ticks (every 10 ms)', ms(Math.max(...gaps)));
  handle.close('bench over');
  local.destroy();

  // 2. Throughput: one upload through a session (relay to a sink) against a plain forwarder to the sink.
  const sinkRelay = await session.createRelay({
    target: { host: HOST, port: sinkPort },
    listen: { host: HOST, port: 0 },
    key,
  });
  onCleanup(() => sinkRelay.close());
  const plain = await forwarder(sinkPort);
  const viaRelay = { name: 'r', ...(await forwarder(sinkRelay.address.port)) };
  const chunk = randomBytes(256 * 1024);
  async function upload(socket) {
    sunk = 0;
    const t0 = performance.now();
    for (let sent = 0; sent < UPLOAD; sent += chunk.length) {
      if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
    }
    while (sunk < UPLOAD) await new Promise((r) => setTimeout(r, 2));
    return UPLOAD / ((performance.now() - t0) / 1000);
  }
  const direct = net.connect({ host: HOST, port: plain.port });
  await new Promise((r) => direct.once('connect', r));
  const off = await upload(direct);
  direct.destroy();
  const up = await sessionSocket(session, { key, dial: dialer([viaRelay]) });
  const on = await upload(up.local);
  up.handle.close('bench over');
  up.local.destroy();
  out.figure(`upload ${mib(UPLOAD)}: resume off (plain forwarder)`, `${mib(off)}/s`);
  out.figure(
    `upload ${mib(UPLOAD)}: resume on (session + relay)`,
    `${mib(on)}/s (${ratio(on, off)} of off; goal >= 0.6x)`,
  );

  // 3. Idle sessions.
  globalThis.gc?.();
  const before = process.memoryUsage();
  const idle = [];
  for (let i = 0; i < IDLE; i++) idle.push(await sessionSocket(session, { key, dial: dialer([a, b]) }));
  while (relay.metrics().sessionsLive < IDLE) await new Promise((r) => setTimeout(r, 20));
  globalThis.gc?.();
  const after = process.memoryUsage();
  out.figure(
    `${IDLE} idle sessions: RSS growth`,
    `${mib(after.rss - before.rss)} (${((after.rss - before.rss) / IDLE / 1024).toFixed(1)} KiB per session, both ends and the target in one process)`,
  );
  out.figure(`${IDLE} idle sessions: heap growth`, `${mib(after.heapUsed - before.heapUsed)}`);
  for (const { local: l, handle: h } of idle) {
    h.close('bench over');
    l.destroy();
  }
});
