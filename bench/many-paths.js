// Issues 2 and 19: what 1,000 paths probed every 2 s (ssh banner) cost the manager, beside HAProxy checking the
// same ports the same way. Three separate processes take turns, in interleaved rounds: a manager with 0 paths
// (the baseline: what an idle Node process costs), a manager with N paths, and HAProxy with N servers
// (`option tcp-check`, `tcp-check expect string SSH-`, `check inter 2s`). The ports they probe belong to a port
// farm, a fourth process that answers with an SSH banner, so neither a relay hop nor a target is counted as the
// manager's work. CPU and RSS come from /proc for each process alike; probes are the farm's accepted connections
// (so nothing subscribes to the manager's events: a listener would make each probe event cost something).
// A fifth process, a bare Node loop making the same checks (children/probe-floor.js), is the floor: what any
// Node process pays for them, so the manager's figure splits into Node's share and its own. A sixth, the same
// loop in C (children/probe-floor.c, when a C compiler is installed), is the kernel's floor under any runtime.
import { main, mib, QUICK, ratio, reporter, sleep, which } from './lib.js';
import {
  median,
  sampleProcess,
  scratch,
  startHaproxyChecks,
  startManagerChild,
  startPortFarm,
  startProbeFloor,
  startProbeFloorC,
} from './paths-lib.js';

const NAME = 'many-paths';
const PATHS_ARG = process.argv.find((arg) => arg.startsWith('--paths='));
const PATHS = PATHS_ARG ? Number(PATHS_ARG.slice('--paths='.length)) : QUICK ? 200 : 1000;
const WINDOW_MS = QUICK ? 6000 : 15_000;
const SETTLE_MS = QUICK ? 3000 : 5000;
const ROUNDS = QUICK ? 1 : 3;
const INTERVAL = 2000;
const GOAL = { share: 0.05, rss: 150 * 1024 * 1024, vsHaproxy: 2 };

const share = (value) => `${(value * 100).toFixed(1)}% of one core`;

await main(NAME, 15 * 60_000, async () => {
  const out = reporter(NAME);
  out.title(
    `${PATHS} paths probed every ${INTERVAL} ms (ssh banner); manager (own process) vs the same with 0 paths vs a bare Node probe loop vs the same loop in C vs HAProxy ${PATHS} servers; ${ROUNDS} interleaved round(s) of ${WINDOW_MS / 1000} s, medians`,
  );
  const haproxy = which('haproxy');
  if (!haproxy) out.skipped('haproxy', 'haproxy');
  const dir = scratch();
  const farm = await startPortFarm(PATHS);
  const runs = { base: [], ours: [], floor: [], cFloor: [], haproxy: [] };
  let hasCc = true;
  let connected = '';

  for (let round = 0; round < ROUNDS; round += 1) {
    const empty = await startManagerChild(dir, farm.ports, { paths: 0, interval: INTERVAL });
    await sleep(1000);
    runs.base.push(await sampleProcess(empty.pid, WINDOW_MS));
    await empty.stop(10_000);

    const ours = await startManagerChild(dir, farm.ports, { paths: PATHS, interval: INTERVAL });
    connected = ours.connected;
    await sleep(SETTLE_MS);
    runs.ours.push(await sampleProcess(ours.pid, WINDOW_MS, farm));
    await ours.stop(10_000);

    const floor = await startProbeFloor(dir, farm.ports, { paths: PATHS, interval: INTERVAL });
    await sleep(SETTLE_MS);
    runs.floor.push(await sampleProcess(floor.pid, WINDOW_MS, farm));
    await floor.stop();

    const cFloor = hasCc
      ? await startProbeFloorC(dir, farm.ports, { paths: PATHS, interval: INTERVAL })
      : undefined;
    if (cFloor) {
      await sleep(SETTLE_MS);
      runs.cFloor.push(await sampleProcess(cFloor.pid, WINDOW_MS, farm));
      await cFloor.stop();
    } else if (hasCc) {
      hasCc = false;
      out.skipped('cc (for the C floor)', 'gcc');
    }

    if (haproxy) {
      const proc = await startHaproxyChecks(haproxy, dir, farm.ports.slice(0, PATHS), INTERVAL);
      await sleep(SETTLE_MS);
      runs.haproxy.push(await sampleProcess(proc.pid, WINDOW_MS, farm));
      await proc.stop();
    }
  }

  const pick = (list, key) => median(list.map((run) => run[key]));
  const summary = (list) => ({
    share: pick(list, 'cpuShare'),
    rss: pick(list, 'rssMean'),
    rssMax: pick(list, 'rssMax'),
    probeRate: median(list.map((run) => run.probes / (run.wall / 1000))),
    perProbe: median(list.map((run) => run.cpuMs / Math.max(1, run.probes))),
    timeWait: pick(list, 'timeWait'),
    loads: list.map((run) => run.load.toFixed(2)).join('/'),
  });
  const base = summary(runs.base);
  const ours = summary(runs.ours);
  // The manager's own cost: its process minus an idle Node process, round by round.
  const added = median(runs.ours.map((run, i) => run.cpuShare - runs.base[i].cpuShare));
  const addedPerProbe = median(
    runs.ours.map((run, i) => ((run.cpuShare - runs.base[i].cpuShare) * run.wall) / Math.max(1, run.probes)),
  );
  out.figure(
    '0 paths (baseline, own process)',
    `CPU ${share(base.share)}, RSS ${mib(base.rss)} (load ${base.loads})`,
  );
  out.figure(
    `tunnelmux, ${PATHS} paths`,
    `CPU ${share(ours.share)} (+${(added * 100).toFixed(1)} points over the baseline), RSS ${mib(ours.rss)} mean / ${mib(ours.rssMax)} max (${ratio(ours.rss, base.rss)} of the baseline), ${addedPerProbe.toFixed(3)} ms CPU per probe over the baseline, ${ours.probeRate.toFixed(0)} probes/s (expected ~${(PATHS / (INTERVAL / 1000)).toFixed(0)}), ${ours.timeWait} TIME_WAIT to the farm; ${connected} connected (load ${ours.loads})`,
  );
  const floor = summary(runs.floor);
  out.figure(
    `bare Node probe loop, ${PATHS} ports (the floor)`,
    `CPU ${share(floor.share)}, RSS ${mib(floor.rss)}, ${floor.perProbe.toFixed(3)} ms CPU per probe, ${floor.probeRate.toFixed(0)} probes/s (load ${floor.loads})`,
  );
  const cFloor = runs.cFloor.length > 0 ? summary(runs.cFloor) : undefined;
  if (cFloor) {
    out.figure(
      `C epoll loop, ${PATHS} ports (the kernel's floor)`,
      `CPU ${share(cFloor.share)}, RSS ${mib(cFloor.rss)}, ${cFloor.perProbe.toFixed(3)} ms CPU per check, ${cFloor.probeRate.toFixed(0)} checks/s (load ${cFloor.loads}); tunnelmux ${ratio(ours.share, cFloor.share)}, the bare Node loop ${ratio(floor.share, cFloor.share)}`,
    );
  }
  out.figure(
    'tunnelmux vs the bare Node loop',
    `CPU ${ratio(ours.share, floor.share)}, CPU per probe ${ratio(ours.perProbe, floor.perProbe)}, RSS ${ratio(ours.rss, floor.rss)}`,
  );
  if (runs.haproxy.length > 0) {
    const hap = summary(runs.haproxy);
    out.figure(
      `haproxy, ${PATHS} servers (anchor)`,
      `CPU ${share(hap.share)}, RSS ${mib(hap.rss)}, ${hap.perProbe.toFixed(3)} ms CPU per check, ${hap.probeRate.toFixed(0)} checks/s, ${hap.timeWait} TIME_WAIT to the farm (load ${hap.loads})`,
    );
    out.figure(
      'tunnelmux vs haproxy',
      `CPU ${ratio(ours.share, hap.share)} (manager cost over the baseline: ${ratio(added, hap.share)}), RSS ${ratio(ours.rss, hap.rss)}, CPU per probe ${ratio(addedPerProbe, hap.perProbe)}`,
    );
    out.note(
      `goal: < ${GOAL.share * 100}% of one core (${share(ours.share)}), < ${mib(GOAL.rss)} RSS (${mib(ours.rss)}), <= ${GOAL.vsHaproxy}x haproxy's CPU (${ratio(ours.share, hap.share)}); haproxy ${share(hap.share)}, ${mib(hap.rss)}; the bare Node loop ${share(floor.share)}${cFloor ? `; the C loop ${share(cFloor.share)}` : ''}`,
    );
  } else {
    out.note(
      `goal: < ${GOAL.share * 100}% of one core (${share(ours.share)}), < ${mib(GOAL.rss)} RSS (${mib(ours.rss)}); no haproxy anchor`,
    );
  }
});
