// Issue 2: what 1,000 paths cost one manager. Each path is an in-process relay (a loopback listener that pipes
// to the target, like a tunnel's local port) probed end to end every 2 s (ssh: connect and read the banner).
// CPU share = process.cpuUsage() over wall time, in % of one core, and RSS, over a steady-state window after
// start-up, against the same process holding a manager with 0 paths. The target runs in its own process so its
// work is not counted; the relays' work is (a real tunnel's would be in its own process).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  loadBuilt,
  main,
  mib,
  ms,
  noOptions,
  onCleanup,
  QUICK,
  ratio,
  reporter,
  sleep,
  startBannerProcess,
} from './lib.js';

const NAME = 'many-paths';
const PATHS_ARG = process.argv.find((arg) => arg.startsWith('--paths='));
const PATHS = PATHS_ARG ? Number(PATHS_ARG.slice('--paths='.length)) : QUICK ? 200 : 1000;
const WINDOW_MS = QUICK ? 8000 : 30_000;
const BATCH = 100;
const SETTLE_MS = QUICK ? 2000 : 6000;
const FAILOVER = { interval: 2000, timeout: 1000, maxLatency: 1000, fall: 3, rise: 2 };

/** An in-process relay per path; `relays` lets the script close any that outlive the manager. */
function relayProvider(core, relays) {
  return core.defineProvider({
    apiVersion: 1,
    name: 'bench-relay',
    summary: 'benchmark stand-in: an in-process loopback relay per path',
    access: {
      options: noOptions,
      async open(_options, ctx) {
        const sockets = new Set();
        const server = net.createServer((client) => {
          const upstream = net.connect(ctx.target);
          for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on('close', () => sockets.delete(socket));
            socket.on('error', () => socket.destroy());
          }
          // Reset rather than close the hop to the target: every relay dials the same target port, and 500
          // closes a second would pile up TIME_WAIT sockets on it until connect() itself stalls the process.
          client.on('close', () => upstream.resetAndDestroy());
          upstream.on('close', () => client.destroy());
          client.pipe(upstream);
          upstream.pipe(client);
        });
        await new Promise((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host: '127.0.0.1', port: 0, backlog: 64 }, resolve);
        });
        relays.add(server);
        const { port } = server.address();
        let resolveExit;
        const done = new Promise((resolve) => {
          resolveExit = resolve;
        });
        return {
          endpoint: `127.0.0.1:${port}`,
          done,
          dial: (signal) => ctx.dialTcp({ host: '127.0.0.1', port }, { signal, timeoutMs: 5000 }),
          async close() {
            for (const socket of sockets) socket.destroy();
            await new Promise((resolve) => server.close(() => resolve()));
            relays.delete(server);
            resolveExit({ reason: 'closed' });
          },
        };
      },
    },
  });
}

/** Sockets in TIME_WAIT on this machine, from /proc/net/sockstat. */
function timeWait() {
  const match = /^TCP:.* tw (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

/** CPU share (% of one core), RSS and event-loop delay of this process over `windowMs`. */
async function measure(windowMs) {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const rss = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + windowMs;
  while (performance.now() < end) {
    await sleep(Math.min(1000, end - performance.now()));
    rss.push(process.memoryUsage().rss);
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  loop.disable();
  return {
    timeWait: timeWait(),
    cpuShare: (cpu.user + cpu.system) / 1000 / wall,
    rssMean: rss.reduce((a, b) => a + b, 0) / rss.length,
    rssMax: Math.max(...rss),
    heapUsed: process.memoryUsage().heapUsed,
    // The histogram counts the sampling period itself; keep only the lateness beyond it.
    loopP50: Math.max(0, loop.percentile(50) / 1e6 - 10),
    loopP99: Math.max(0, loop.percentile(99) / 1e6 - 10),
    wall,
  };
}

await main(NAME, 6 * 60_000, async () => {
  const { core } = await loadBuilt();
  const out = reporter(NAME);
  out.title(
    `${PATHS} in-process relay paths probed every ${FAILOVER.interval} ms (ssh banner), ${WINDOW_MS / 1000} s steady-state window vs 0 paths`,
  );
  const target = await startBannerProcess();
  onCleanup(() => target.stop());
  const relays = new Set();
  onCleanup(() => {
    for (const server of relays) server.close();
  });
  const config = () => ({
    target: { host: target.host, port: target.port },
    protocol: 'ssh',
    failover: FAILOVER,
    providers: [relayProvider(core, relays)],
    metricsInterval: 5000,
  });

  // Baseline: the same process, a manager with no path, same window.
  const empty = core.createManager(config());
  onCleanup(() => empty.shutdown());
  await sleep(1000);
  const base = await measure(WINDOW_MS);
  await empty.shutdown();

  const manager = core.createManager(config());
  onCleanup(() => manager.shutdown());
  let probes = 0;
  let failedProbes = 0;
  let events = 0;
  const failures = new Map();
  manager.events.on((event) => {
    events += 1;
    if (event.type !== 'probe') return;
    probes += 1;
    if (event.ok) return;
    failedProbes += 1;
    const why = (event.error ?? 'unknown').replace(/\d+/g, 'N');
    failures.set(why, (failures.get(why) ?? 0) + 1);
  });
  const t0 = performance.now();
  // Started in batches, as a config of this size would be: a thousand first probes at one instant only
  // measure the start-up storm, not the steady state this benchmark is about.
  const results = [];
  for (let i = 0; i < PATHS; i += BATCH) {
    const specs = Array.from({ length: Math.min(BATCH, PATHS - i) }, (_, k) => ({
      id: `path-${i + k}`,
      provider: 'bench-relay',
    }));
    results.push(...(await manager.startMultiple(specs)));
  }
  const startMs = performance.now() - t0;
  const notUp = results.filter((result) => !result.ok);
  if (notUp.length > 0) {
    out.figure(
      'start-up',
      `${notUp.length}/${PATHS} paths were not up after their first open (first: ${notUp[0].id}: ${notUp[0].error.message}); measuring anyway`,
    );
  }
  await sleep(SETTLE_MS);
  const counts = { probes, failedProbes, events };
  const load = await measure(WINDOW_MS);
  const windowProbes = probes - counts.probes;
  const windowFailed = failedProbes - counts.failedProbes;
  const windowEvents = events - counts.events;
  const connected = manager.list().filter((path) => path.state === 'connected').length;
  const t1 = performance.now();
  await manager.shutdown();
  const stopMs = performance.now() - t1;

  const share = (value) => `${(value * 100).toFixed(1)}% of one core`;
  out.figure('0 paths (baseline)', `CPU ${share(base.cpuShare)}, RSS ${mib(base.rssMean)}`);
  out.figure(
    `${PATHS} paths`,
    `CPU ${share(load.cpuShare)} (+${((load.cpuShare - base.cpuShare) * 100).toFixed(1)} points), RSS ${mib(load.rssMean)} mean / ${mib(load.rssMax)} max (+${mib(load.rssMean - base.rssMean)}, ${ratio(load.rssMean, base.rssMean)} of baseline), heap ${mib(load.heapUsed)}, ${load.timeWait} TIME_WAIT sockets`,
  );
  out.figure(
    `${PATHS} paths: per path`,
    `${(((load.cpuShare - base.cpuShare) * 1000) / PATHS).toFixed(3)} ms CPU per second, ${((load.rssMean - base.rssMean) / 1024 / PATHS).toFixed(1)} KiB RSS`,
  );
  // CPU per probe holds up better than CPU share on a busy machine, where a starved process probes less.
  const perProbe = ((load.cpuShare - base.cpuShare) * load.wall) / Math.max(1, windowProbes);
  const rate = PATHS / (FAILOVER.interval / 1000);
  out.figure(
    `${PATHS} paths: CPU per probe`,
    `${perProbe.toFixed(2)} ms (manager + relay hop); at the full ${rate.toFixed(0)} probes/s that is ${((perProbe * rate) / 10).toFixed(0)}% of one core`,
  );
  out.figure(
    `${PATHS} paths: event-loop lateness`,
    `p50 ${ms(load.loopP50)}, p99 ${ms(load.loopP99)} (baseline p50 ${ms(base.loopP50)}, p99 ${ms(base.loopP99)})`,
  );
  out.figure(
    `${PATHS} paths: probes in window`,
    `${windowProbes} (${(windowProbes / (load.wall / 1000)).toFixed(0)}/s, expected ~${(PATHS / (FAILOVER.interval / 1000)).toFixed(0)}/s), ${windowFailed} failed, ${windowEvents} events; ${connected}/${PATHS} connected at the end`,
  );
  if (failures.size > 0) {
    const top = [...failures].sort((a, b) => b[1] - a[1]).slice(0, 3);
    out.figure(
      `${PATHS} paths: failed probes (whole run) by cause`,
      top.map(([why, n]) => `${n}x ${why}`).join('; '),
    );
  }
  out.figure(
    `${PATHS} paths: start-up and shutdown`,
    `startMultiple in batches of ${BATCH}: ${ms(startMs, 0)}, shutdown ${ms(stopMs, 0)}`,
  );
});
