// Issue 19: cost as work grows. (1) Probe CPU and RSS of the manager (own process) at 10, 100, 1,000 and 5,000
// paths probed every 2 s (ssh banner), beside an idle manager (the baseline) and HAProxy checking the same
// ports (the anchor) and a bare Node loop making the same checks (the floor any Node process pays): is CPU per
// probe flat (linear total) or does it bend? (2) Connection set-up rate
// (connect + first byte, back to back) with 1, 10 and 100 concurrent clients: straight to the target (the
// baseline), through the front door (own process, one path) and through HAProxy (mode tcp).
import net from 'node:net';
import { HOST, main, mib, QUICK, ratio, reporter, sleep, startHaproxyTcp, which } from './lib.js';
import {
  sampleProcess,
  scratch,
  startHaproxyChecks,
  startManagerChild,
  startPortFarm,
  startProbeFloor,
} from './paths-lib.js';

const NAME = 'scaling';
const SIZES = QUICK ? [10, 100, 1000] : [10, 100, 1000, 5000];
const WINDOW_MS = QUICK ? 5000 : 12_000;
const SETTLE_MS = QUICK ? 2000 : 5000;
const CONCURRENCY = [1, 10, 100];
const RATE_MS = QUICK ? 1500 : 4000;
const INTERVAL = 2000;

const share = (value) => `${(value * 100).toFixed(1)}%`;

/** Connections (connect + first byte) completed per second by `clients` loops, back to back, for `ms`. */
async function setupRate(port, clients, ms) {
  let done = 0;
  let failed = 0;
  const end = performance.now() + ms;
  const one = () =>
    new Promise((resolve) => {
      const socket = net.connect({ host: HOST, port, noDelay: true });
      const finish = (ok) => {
        if (ok) done += 1;
        else failed += 1;
        // Reset: thousands of closes a second would fill the loopback with TIME_WAIT sockets.
        socket.resetAndDestroy();
        resolve();
      };
      socket.setTimeout(3000, () => finish(false));
      socket.once('data', () => finish(true));
      socket.once('error', () => finish(false));
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  return { rate: done / ((performance.now() - t0) / 1000), failed };
}

await main(NAME, 20 * 60_000, async () => {
  const out = reporter(NAME);
  out.title(
    `probe cost at ${SIZES.join(', ')} paths (${WINDOW_MS / 1000} s windows) and set-up rate at ${CONCURRENCY.join(', ')} concurrent clients`,
  );
  const haproxy = which('haproxy');
  if (!haproxy) out.skipped('haproxy', 'haproxy');
  const dir = scratch();
  const farm = await startPortFarm(Math.max(...SIZES));

  const empty = await startManagerChild(dir, farm.ports, { paths: 0, interval: INTERVAL });
  await sleep(1000);
  const base = await sampleProcess(empty.pid, WINDOW_MS);
  await empty.stop(10_000);
  out.figure('0 paths (baseline)', `CPU ${share(base.cpuShare)} of one core, RSS ${mib(base.rssMean)}`);

  const rows = [];
  for (const size of SIZES) {
    const ours = await startManagerChild(dir, farm.ports, { paths: size, interval: INTERVAL });
    await sleep(SETTLE_MS);
    const run = await sampleProcess(ours.pid, WINDOW_MS, farm);
    await ours.stop(20_000);
    const floorProc = await startProbeFloor(dir, farm.ports, { paths: size, interval: INTERVAL });
    await sleep(SETTLE_MS);
    const floor = await sampleProcess(floorProc.pid, WINDOW_MS, farm);
    await floorProc.stop();
    const floorPerProbe = ((floor.cpuShare - base.cpuShare) * floor.wall) / Math.max(1, floor.probes);
    let anchor;
    if (haproxy) {
      const proc = await startHaproxyChecks(haproxy, dir, farm.ports.slice(0, size), INTERVAL);
      await sleep(SETTLE_MS);
      anchor = await sampleProcess(proc.pid, WINDOW_MS, farm);
      await proc.stop();
    }
    const perProbe = ((run.cpuShare - base.cpuShare) * run.wall) / Math.max(1, run.probes);
    const perPath = (run.rssMean - base.rssMean) / size;
    rows.push({ size, perProbe, perPath, floorPerProbe });
    const hap = anchor
      ? `; haproxy CPU ${share(anchor.cpuShare)}, ${(anchor.cpuMs / Math.max(1, anchor.probes)).toFixed(3)} ms per check, RSS ${mib(anchor.rssMean)}; CPU ${ratio(run.cpuShare, anchor.cpuShare)} of haproxy`
      : '';
    out.figure(
      `${size} paths`,
      `CPU ${share(run.cpuShare)} of one core, ${perProbe.toFixed(3)} ms per probe over the baseline, ${(run.probes / (run.wall / 1000)).toFixed(0)} probes/s (expected ~${(size / (INTERVAL / 1000)).toFixed(0)}), RSS ${mib(run.rssMean)} (+${(perPath / 1024).toFixed(1)} KiB per path), ${ours.connected} connected, load ${run.load.toFixed(2)}; bare Node loop CPU ${share(floor.cpuShare)}, ${floorPerProbe.toFixed(3)} ms per probe, RSS ${mib(floor.rssMean)}${hap}`,
    );
  }
  const ref = rows.find((row) => row.size === 1000) ?? rows.at(-1);
  out.note(
    `CPU per probe relative to 1,000 paths: ${rows.map((row) => `${row.size}: ${ratio(row.perProbe, ref.perProbe)}`).join(', ')} (flat = linear total cost); against the bare Node loop at each size: ${rows.map((row) => `${row.size}: ${ratio(row.perProbe, row.floorPerProbe)}`).join(', ')}`,
  );

  // Set-up rate: one target port, reached directly, through the front door and through HAProxy.
  const target = { port: farm.ports[0] };
  const door = await startManagerChild(dir, farm.ports, { paths: 1, listen: true, interval: INTERVAL });
  const routes = [
    { name: 'direct', port: target.port },
    { name: 'front door', port: door.door },
  ];
  if (haproxy) routes.push({ name: 'haproxy', port: await startHaproxyTcp(haproxy, target.port) });
  for (const clients of CONCURRENCY) {
    const rates = {};
    // Interleaved, twice each, best of two: a burst of load elsewhere hits every route alike.
    for (let round = 0; round < 2; round += 1) {
      for (const route of routes) {
        const { rate, failed } = await setupRate(route.port, clients, RATE_MS);
        rates[route.name] = Math.max(rates[route.name] ?? 0, rate);
        if (failed > 0) out.note(`${route.name}, ${clients} clients: ${failed} failed connections`);
      }
    }
    out.figure(
      `set-up rate, ${clients} concurrent client(s)`,
      routes
        .map(
          (route) =>
            `${route.name} ${rates[route.name].toFixed(0)}/s${route.name === 'direct' ? '' : ` (${ratio(rates[route.name], rates.direct)} of direct)`}`,
        )
        .join(', '),
    );
  }
  await door.stop(10_000);
});
