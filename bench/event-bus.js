// Issue 2: events per second through a manager's bus (`manager.bus.emit` of probe-like events), with no
// subscriber (the baseline), with 10 subscribers reading through `for await`, and with 10 subscribers that
// never read (their bounded buffers must drop the oldest events and keep memory flat).
import { setImmediate as nextTick } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadBuilt, main, mib, QUICK, ratio, reporter, summarize } from './lib.js';

const NAME = 'event-bus';
const EVENTS = QUICK ? 200_000 : 1_000_000;
const ROUNDS = QUICK ? 1 : 3;
const SUBSCRIBERS = 10;
// Below the default buffer (1024), so readers that keep up never lose an event.
const BATCH = 256;

// A real collection before each memory reading, so RSS and heap say what is held, not what is garbage.
v8.setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? vm.runInNewContext('gc');

const probe = (i) => ({
  type: 'probe',
  pathId: `p${i % 8}`,
  provider: 'bench',
  ok: true,
  latencyMs: 1.5,
  consecutiveFailures: 0,
});

/** Emit `count` events in batches, letting readers run between batches; resolves with the emit wall time. */
async function emitAll(bus, count) {
  const t0 = performance.now();
  for (let i = 0; i < count; i += BATCH) {
    const end = Math.min(count, i + BATCH);
    for (let j = i; j < end; j += 1) bus.emit(probe(j));
    await nextTick();
  }
  return performance.now() - t0;
}

await main(NAME, 6 * 60_000, async () => {
  const { core } = await loadBuilt();
  const out = reporter(NAME);
  out.title(
    `${EVENTS.toLocaleString('en')} probe events per round, ${ROUNDS} round(s), batches of ${BATCH}, default buffer 1024`,
  );

  // Warm-up, so the JIT has settled before anything is timed (the first rounds run several times slower).
  {
    const manager = core.createManager({ metricsInterval: 0 });
    await emitAll(manager.bus, EVENTS / 4);
    const subs = Array.from({ length: SUBSCRIBERS }, () => manager.events.subscribe('probe'));
    const readers = subs.slice(0, SUBSCRIBERS / 2).map(async (sub) => {
      for await (const _event of sub);
    });
    await emitAll(manager.bus, EVENTS / 4);
    for (const sub of subs) sub.close();
    await Promise.all(readers);
    await manager.shutdown();
  }

  // Baseline: the same emit loop with nobody listening.
  const baseline = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const manager = core.createManager({ metricsInterval: 0 });
    baseline.push(EVENTS / ((await emitAll(manager.bus, EVENTS)) / 1000));
    await manager.shutdown();
  }
  const base = summarize(baseline).median;
  out.figure('0 subscribers (baseline)', `${Math.round(base).toLocaleString('en')} events/s`);

  // 10 readers that keep up.
  const reading = [];
  let readingDropped = 0;
  let readingMissing = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    const manager = core.createManager({ metricsInterval: 0 });
    const subs = Array.from({ length: SUBSCRIBERS }, () => manager.events.subscribe('probe'));
    const counts = new Array(SUBSCRIBERS).fill(0);
    const readers = subs.map(async (sub, k) => {
      for await (const _event of sub) counts[k] += 1;
    });
    const t0 = performance.now();
    await emitAll(manager.bus, EVENTS);
    // Every reader has drained what it was given once the queues are empty.
    for (let spins = 0; spins < 1000 && subs.some((sub) => sub.pending > 0); spins += 1) await nextTick();
    const elapsed = performance.now() - t0;
    reading.push(EVENTS / (elapsed / 1000));
    readingDropped += subs.reduce((sum, sub) => sum + sub.dropped, 0);
    readingMissing += counts.reduce((sum, n, k) => sum + (EVENTS - n - subs[k].dropped), 0);
    for (const sub of subs) sub.close();
    await Promise.all(readers);
    await manager.shutdown();
  }
  const r = summarize(reading).median;
  out.figure(
    `${SUBSCRIBERS} subscribers reading (for await)`,
    `${Math.round(r).toLocaleString('en')} events/s (${Math.round(r * SUBSCRIBERS).toLocaleString('en')} deliveries/s), ${ratio(r, base)} of baseline, dropped ${readingDropped}, undelivered ${readingMissing}`,
  );

  // 10 subscribers that never read: bounded buffers drop the oldest; memory must stay flat.
  const stalled = [];
  const rssAfter = [];
  const heapAfter = [];
  gc();
  const start = process.memoryUsage();
  let dropped = 0;
  let busDropped = 0;
  let held = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    const manager = core.createManager({ metricsInterval: 0 });
    const subs = Array.from({ length: SUBSCRIBERS }, () => manager.events.subscribe('probe'));
    stalled.push(EVENTS / ((await emitAll(manager.bus, EVENTS)) / 1000));
    // Measured while the subscriptions still hold their buffers.
    gc();
    const after = process.memoryUsage();
    rssAfter.push(after.rss - start.rss);
    heapAfter.push(after.heapUsed - start.heapUsed);
    dropped = subs.reduce((sum, sub) => sum + sub.dropped, 0);
    busDropped = manager.bus.dropped;
    held = subs.reduce((sum, sub) => sum + sub.pending, 0);
    for (const sub of subs) sub.close();
    await manager.shutdown();
  }
  const s = summarize(stalled).median;
  out.figure(
    `${SUBSCRIBERS} subscribers never reading`,
    `${Math.round(s).toLocaleString('en')} events/s, ${ratio(s, base)} of baseline`,
  );
  out.figure(
    `${SUBSCRIBERS} subscribers never reading: dropped`,
    `${dropped.toLocaleString('en')} per round (${(dropped / SUBSCRIBERS).toLocaleString('en')} per subscriber of ${EVENTS.toLocaleString('en')}; bus.dropped ${busDropped.toLocaleString('en')}), ${held.toLocaleString('en')} still buffered`,
  );
  out.figure(
    `${SUBSCRIBERS} subscribers never reading: memory growth after gc`,
    `after each round of ${EVENTS.toLocaleString('en')}: RSS ${rssAfter.map((b) => `+${mib(b)}`).join(', ')}; heap ${heapAfter.map((b) => `+${mib(b)}`).join(', ')}`,
  );
});
