// Issue 16: what recording history costs the event loop. One manager holds 1,000 stand-in paths (each probe
// dials a banner target in its own process and reads the banner) probed every 2 s; history (@tunnelmux/history's
// Recorder over a real SQLite file, default batching) is attached and detached in alternating windows of the same
// run, ABBA order, a minute of each in all. Event-loop lateness comes from a 10 ms ticker whose samples go to the
// histogram of the window they fall in, so both figures share the same paths, machine load and warm-up.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  directProvider,
  loadBuilt,
  main,
  mib,
  ms,
  onCleanup,
  QUICK,
  ROOT,
  reporter,
  sleep,
  startBannerProcess,
  summarize,
} from './lib.js';

const NAME = 'history-writes';
const PATHS_ARG = process.argv.find((arg) => arg.startsWith('--paths='));
const PATHS = PATHS_ARG ? Number(PATHS_ARG.slice('--paths='.length)) : QUICK ? 200 : 1000;
// 12 windows of 10 s: 60 s with history and 60 s without.
const WINDOW_MS = QUICK ? 4000 : 10_000;
const WINDOWS = QUICK ? 4 : 12;
const SETTLE_MS = QUICK ? 3000 : 8000;
const TICK_MS = 10;
const BATCH = 100;
const FAILOVER = { interval: 2000, timeout: 1000, maxLatency: 1000, fall: 3, rise: 2 };

await main(NAME, 8 * 60_000, async () => {
  const { core } = await loadBuilt();
  const history = await import(pathToFileURL(path.join(ROOT, 'packages/history/dist/index.js')).href);
  const out = reporter(NAME);
  out.title(
    `${PATHS} stand-in paths probed every ${FAILOVER.interval} ms; history on vs off in alternating ${WINDOW_MS / 1000} s windows (${((WINDOWS / 2) * WINDOW_MS) / 1000} s each)`,
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-bench-history-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const store = history.HistoryStore.open(path.join(dir, 'history.sqlite'));
  onCleanup(() => store.close());
  // Time every transaction the recorder writes (the only synchronous work history adds off the callbacks).
  // CPU time too: on a loaded machine a write's wall time includes the time the scheduler took the core away.
  const writes = [];
  const writesCpu = [];
  let rows = 0;
  const write = store.write.bind(store);
  store.write = (batch) => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    write(batch);
    const cpu = process.cpuUsage(c0);
    writesCpu.push((cpu.user + cpu.system) / 1000);
    writes.push(performance.now() - t0);
    rows += (batch.events?.length ?? 0) + (batch.samples?.length ?? 0);
  };

  const target = await startBannerProcess();
  onCleanup(() => target.stop());
  const manager = core.createManager({
    target: { host: target.host, port: target.port },
    protocol: 'ssh',
    failover: FAILOVER,
    providers: [directProvider(core)],
    metricsInterval: 5000,
  });
  onCleanup(() => manager.shutdown());
  let probes = 0;
  let failed = 0;
  manager.events.on((event) => {
    if (event.type !== 'probe') return;
    probes += 1;
    if (!event.ok) failed += 1;
  });
  for (let i = 0; i < PATHS; i += BATCH) {
    const specs = Array.from({ length: Math.min(BATCH, PATHS - i) }, (_, k) => ({
      id: `path-${i + k}`,
      provider: 'bench-direct',
    }));
    await manager.startMultiple(specs);
  }
  await sleep(SETTLE_MS);

  const lateness = { on: createHistogram(), off: createHistogram(), closing: createHistogram() };
  // Each window's own histogram too: the median of per-window p99s shrugs off one window a busy machine spoiled.
  const perWindow = { on: [], off: [] };
  let windowHistogram = createHistogram();
  let mode = 'off';
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    // Microseconds beyond the tick; the histogram takes integers of at least 1.
    const late = Math.max(1, Math.round((now - last - TICK_MS) * 1000));
    lateness[mode].record(late);
    if (mode !== 'closing') windowHistogram.record(late);
    last = now;
  }, TICK_MS);
  onCleanup(() => clearInterval(ticker));

  const probesAt = { on: 0, off: 0 };
  // ABBA: off on on off off on ..., so a drift in machine load falls on both sides alike.
  const order = Array.from({ length: WINDOWS }, (_, i) => (((i + 1) >> 1) % 2 === 0 ? 'off' : 'on'));
  for (const window of order) {
    const recorder =
      window === 'on' ? new history.Recorder({ store, instance: 'bench' }).attach(manager.events) : undefined;
    const p0 = probes;
    windowHistogram = createHistogram();
    mode = window;
    last = performance.now();
    await sleep(WINDOW_MS);
    // Close outside the measured window: the last flush on shutdown is not steady state.
    mode = 'closing';
    perWindow[window].push(windowHistogram.percentile(99) / 1000);
    recorder?.close();
    probesAt[window] += probes - p0;
  }
  clearInterval(ticker);
  const size = store.usedBytes();
  const events = store.events().length;
  await manager.shutdown();

  const fig = (h) => ({
    p50: h.percentile(50) / 1000,
    p99: h.percentile(99) / 1000,
    max: h.max / 1000,
    count: h.count,
  });
  const off = fig(lateness.off);
  const on = fig(lateness.on);
  const seconds = ((WINDOWS / 2) * WINDOW_MS) / 1000;
  out.figure(
    'event-loop lateness without history',
    `p50 ${ms(off.p50, 2)}, p99 ${ms(off.p99, 2)}, max ${ms(off.max)} (${off.count} ticks)`,
  );
  out.figure(
    'event-loop lateness with history',
    `p50 ${ms(on.p50, 2)}, p99 ${ms(on.p99, 2)}, max ${ms(on.max)} (${on.count} ticks)`,
  );
  out.figure(
    'difference (with - without)',
    `p99 ${on.p99 - off.p99 >= 0 ? '+' : ''}${ms(on.p99 - off.p99, 2)}, p50 ${on.p50 - off.p50 >= 0 ? '+' : ''}${ms(on.p50 - off.p50, 2)} (goal: p99 within 1 ms)`,
  );
  const onWindows = summarize(perWindow.on);
  const offWindows = summarize(perWindow.off);
  out.figure(
    'per-window p99, median of windows',
    `without ${ms(offWindows.p50, 2)}, with ${ms(onWindows.p50, 2)}, difference ${onWindows.p50 - offWindows.p50 >= 0 ? '+' : ''}${ms(onWindows.p50 - offWindows.p50, 2)} (windows without: ${perWindow.off.map((v) => v.toFixed(1)).join(', ')}; with: ${perWindow.on.map((v) => v.toFixed(1)).join(', ')} ms)`,
  );
  const w = summarize(writes);
  const c = summarize(writesCpu);
  const cpuTotal = writesCpu.reduce((sum, v) => sum + v, 0);
  out.figure(
    'history transactions',
    `${writes.length} (${rows} rows, ${(rows / Math.max(1, writes.length)).toFixed(0)} per transaction), wall p50 ${ms(w.p50, 2)}, p99 ${ms(w.p99, 2)}, max ${ms(w.max, 2)}; CPU p50 ${ms(c.p50, 2)}, p99 ${ms(c.p99, 2)}, max ${ms(c.max, 2)}`,
  );
  out.figure(
    'history CPU',
    `${(cpuTotal / seconds).toFixed(2)} ms per second of recording (${((cpuTotal / seconds / 1000) * 100).toFixed(2)}% of one core) in writes`,
  );
  out.figure(
    'probes',
    `${(probesAt.off / seconds).toFixed(0)}/s without, ${(probesAt.on / seconds).toFixed(0)}/s with history (expected ~${(PATHS / (FAILOVER.interval / 1000)).toFixed(0)}/s); ${failed} failed in all`,
  );
  out.figure('history file', `${mib(size)} used after ${seconds} s of recording, ${events} events`);
});
