// Issue 3: client connections lost while paths die. Three forwarder processes (tunnel stand-ins) lead to an
// SSH-banner echo target. A client starts every 20 ms: connect, read the banner, write a line, read it back,
// all within 3 s, or it counts as failed. The primary's forwarder is SIGKILLed at 3 s and the next one is
// SIGSTOPped (a black hole: the kernel still accepts, nothing answers) at 6 s. Counted through the tunnelmux
// front door and through HAProxy tuned at its best, each side with its own fresh forwarders. Goal: 0 for
// tunnelmux.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  freePort,
  loadBuilt,
  main,
  ms,
  nextEvent,
  onCleanup,
  QUICK,
  reporter,
  sleep,
  snapshotForwarder,
  start,
  startBannerProcess,
  startForwarder,
  summarize,
  waitConnected,
  waitListening,
  which,
} from './lib.js';

const NAME = 'failover-race';
const DURATION_MS = QUICK ? 7000 : 14_000;
const KILL_AT_MS = QUICK ? 2000 : 3000;
const STOP_AT_MS = QUICK ? 4000 : 6000;
const EVERY_MS = 20;
const CLIENT_TIMEOUT_MS = 3000;
const FAILOVER = {
  interval: 500,
  timeout: 300,
  maxLatency: 300,
  fall: 2,
  rise: 2,
  firstByteTimeout: 500,
};

/** One client: banner, then a line echoed back, within the deadline. Resolves { ok, ms, why }. */
function client(port, n) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const line = `ping ${n}\n`;
    let stage = 'connect';
    let received = '';
    let bannerEnd = -1;
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    const finish = (ok, why) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, ms: performance.now() - t0, why });
    };
    const timer = setTimeout(
      () => finish(false, `no ${stage} within ${CLIENT_TIMEOUT_MS} ms`),
      CLIENT_TIMEOUT_MS,
    );
    socket.once('connect', () => {
      stage = 'banner';
    });
    socket.setEncoding('latin1');
    socket.on('data', (text) => {
      received += text;
      if (bannerEnd < 0) {
        const end = received.indexOf('\n');
        if (end < 0) return;
        if (!received.startsWith('SSH-')) return finish(false, 'not an SSH banner');
        bannerEnd = end + 1;
        stage = 'echo';
        socket.write(line);
      }
      if (received.slice(bannerEnd).includes(line)) finish(true);
    });
    socket.on('error', (error) => finish(false, `${stage}: ${error.code ?? error.message}`));
    socket.on('close', () => finish(false, `closed during ${stage}`));
  });
}

/**
 * Start a client every EVERY_MS for DURATION_MS against `port`, calling `at[ms]()` at their times; resolves once
 * every client has an outcome.
 */
async function race(port, at) {
  const outcomes = [];
  const pending = [];
  const actions = Object.entries(at)
    .map(([when, fn]) => ({ when: Number(when), fn }))
    .sort((a, b) => a.when - b.when);
  const t0 = performance.now();
  const count = Math.floor(DURATION_MS / EVERY_MS);
  for (let i = 0; i < count; i += 1) {
    const due = t0 + i * EVERY_MS;
    while (actions.length > 0 && actions[0].when <= due - t0) await actions.shift().fn();
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(
      client(port, i).then((outcome) => outcomes.push({ ...outcome, n: i, startedAt: i * EVERY_MS })),
    );
  }
  for (const action of actions) await action.fn();
  await Promise.all(pending);
  return outcomes;
}

/** Failed count, the reasons, and the success latencies. */
function describe(outcomes) {
  const failed = outcomes.filter((o) => !o.ok);
  const reasons = new Map();
  for (const o of failed) reasons.set(o.why, (reasons.get(o.why) ?? 0) + 1);
  const ok = summarize(outcomes.filter((o) => o.ok).map((o) => o.ms));
  const window =
    failed.length > 0
      ? `, failed clients started between ${failed[0].startedAt} and ${failed.at(-1).startedAt} ms`
      : '';
  const why = [...reasons].map(([reason, n]) => `${n}x ${reason}`).join('; ');
  return {
    failed: failed.length,
    text: `${failed.length} failed of ${outcomes.length}${failed.length > 0 ? ` (${why})` : ''}${window}; ok clients p50 ${ms(ok.p50)}, p99 ${ms(ok.p99)}, max ${ms(ok.max)}`,
  };
}

const resume = (pid) => {
  try {
    if (pid) process.kill(pid, 'SIGCONT');
  } catch {
    // Already gone.
  }
};

await main(NAME, 8 * 60_000, async () => {
  const { core, testkit } = await loadBuilt();
  const out = reporter(NAME);
  out.title(
    `a client every ${EVERY_MS} ms for ${DURATION_MS / 1000} s (banner + echo within ${CLIENT_TIMEOUT_MS / 1000} s); primary SIGKILLed at ${KILL_AT_MS / 1000} s, next SIGSTOPped at ${STOP_AT_MS / 1000} s`,
  );
  const forwarderScript = await snapshotForwarder();
  const target = await startBannerProcess();
  onCleanup(() => target.stop());
  const results = [];

  // ---- tunnelmux: three `local` paths (a forwarder process each), front door with first-byte failover.
  {
    const manager = core.createManager({
      target: { host: target.host, port: target.port },
      protocol: 'ssh',
      failover: FAILOVER,
      providers: [testkit.createLocalProvider({ forwarderScript })],
      metricsInterval: 0,
    });
    let stopped;
    onCleanup(async () => {
      resume(stopped);
      await manager.shutdown();
    });
    await manager.startMultiple([
      { id: 'p1', provider: 'local', priority: 1 },
      { id: 'p2', provider: 'local', priority: 2 },
      { id: 'p3', provider: 'local', priority: 3 },
    ]);
    await waitConnected(manager, ['p1', 'p2', 'p3']);
    if (manager.getPrimary() !== 'p1') {
      await nextEvent(manager, (e) => e.type === 'primary-change' && e.to === 'p1', 10_000);
    }
    const door = await manager.listen({ host: '127.0.0.1', port: 0 });
    const timeline = [];
    let t0 = 0;
    const counters = { 'dial-failed': 0, 'connection-refused': 0, failover: 0 };
    manager.events.on((event) => {
      if (event.type in counters) counters[event.type] += 1;
      if (event.type === 'primary-change') {
        timeline.push(`${Math.round(performance.now() - t0)} ms -> ${event.to ?? 'none'} (${event.reason})`);
      }
    });
    t0 = performance.now();
    const outcomes = await race(door.address.port, {
      [KILL_AT_MS]: () => process.kill(manager.status('p1').pid, 'SIGKILL'),
      [STOP_AT_MS]: () => {
        stopped = manager.status('p2').pid;
        timeline.push(
          `${Math.round(performance.now() - t0)} ms SIGSTOP p2 (primary was ${manager.getPrimary()})`,
        );
        process.kill(stopped, 'SIGSTOP');
      },
    });
    resume(stopped);
    const summary = describe(outcomes);
    results.push({ name: 'tunnelmux front door', ...summary });
    out.figure('tunnelmux front door', summary.text);
    out.note(
      `primary changes: ${timeline.join(', ')}; ${counters.failover} failovers, ${counters['dial-failed']} failed dials retried, ${counters['connection-refused']} refused`,
    );
    await door.close();
    await manager.shutdown();
  }

  // ---- HAProxy, two layouts, each with three fresh forwarders.
  const haproxy = which('haproxy');
  if (!haproxy) {
    out.skipped('haproxy', 'haproxy');
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-bench-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const layouts = {
    'haproxy, s2/s3 backup': { balance: [], flags: ['', ' backup', ' backup'] },
    'haproxy, balance first': { balance: ['  balance first'], flags: ['', '', ''] },
  };
  for (const [label, layout] of Object.entries(layouts)) {
    const forwarders = [];
    for (let i = 0; i < 3; i += 1) {
      const forwarder = await startForwarder(forwarderScript, { host: target.host, port: target.port });
      onCleanup(() => forwarder.stop());
      forwarders.push(forwarder);
    }
    const port = await freePort();
    const config = path.join(dir, `haproxy-${forwarders[0].port}.cfg`);
    writeFileSync(
      config,
      [
        'global',
        '  maxconn 4000',
        'defaults',
        '  mode tcp',
        '  timeout connect 300ms',
        '  timeout check 300ms',
        '  timeout client 30s',
        '  timeout server 30s',
        '  retries 2',
        '  option redispatch 1',
        'frontend race',
        `  bind 127.0.0.1:${port}`,
        '  default_backend paths',
        'backend paths',
        ...layout.balance,
        '  option tcp-check',
        '  tcp-check expect string SSH-',
        // fastinter matches tunnelmux's faster probing while a path changes state (interval / 4);
        // observe layer4 + error-limit 1 + on-error mark-down drop a server at its first failed connect.
        '  default-server inter 500 fastinter 125 fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down',
        ...forwarders.map((f, i) => `  server s${i + 1} 127.0.0.1:${f.port} check${layout.flags[i]}`),
        '',
      ].join('\n'),
    );
    const proc = start(haproxy, ['-f', config, '-db']);
    onCleanup(() => proc.stop());
    await waitListening(port);
    // Let the first health checks pass (rise 2 at inter 500) before the clock starts.
    await sleep(1500);
    const outcomes = await race(port, {
      [KILL_AT_MS]: () => process.kill(forwarders[0].pid, 'SIGKILL'),
      [STOP_AT_MS]: () => process.kill(forwarders[1].pid, 'SIGSTOP'),
    });
    resume(forwarders[1].pid);
    const summary = describe(outcomes);
    results.push({ name: label, ...summary });
    out.figure(label, summary.text);
    await proc.stop();
    await Promise.all(forwarders.map((f) => f.stop()));
  }
  const best = results.filter((r) => r.name.startsWith('haproxy')).sort((a, b) => a.failed - b.failed)[0];
  out.figure(
    'summary',
    `tunnelmux ${results[0].failed} failed vs HAProxy at its best (${best.name.replace('haproxy, ', '')}) ${best.failed} failed; goal: 0 for tunnelmux`,
  );
  out.note(
    'haproxy: option tcp-check + expect string SSH-, inter 500 fastinter 125 fall 2 rise 2, timeout connect/check 300ms, retries 2, option redispatch 1, observe layer4 error-limit 1 on-error mark-down',
  );
});
