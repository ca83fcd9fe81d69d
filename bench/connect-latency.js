// Issues 3 and 19: what the front door adds to connect + first byte. Sequential connections to an SSH-banner
// target (its own process): straight to it (the baseline), through the front door (protocol ssh, one path
// whose dial goes straight to the target), through a bare Node proxy (accept, dial, pipe(): the floor any Node
// process adds, children/node-proxy.js) and through HAProxy (mode tcp, the anchor), in alternating blocks so
// all see the same machine load. The front door runs in its own process, as HAProxy does, so the clients' own
// work here is not queued behind it on one event loop. Goal: < 1 ms added at p99, < 0.2 ms at p50, warm.
// Measured twice: after 3,000 connections per route (V8 is still optimizing the door's code then) and after
// 10,000 (warm: its figures stop moving). `--warmup=N` measures once, after N.
// To look inside the front door: `--manager-prof=FILE` writes a CPU profile of the manager's steady state,
// `--manager-gc-log=FILE` runs it with --trace-gc and writes what it prints there.
import path from 'node:path';
import {
  connectFirstByte,
  main,
  ms,
  onCleanup,
  QUICK,
  ROOT,
  ratio,
  reporter,
  start,
  startHaproxyTcpProcess,
  summarize,
  which,
} from './lib.js';
import { cpuMs, scratch, startManagerChild, startPortFarm } from './paths-lib.js';

const NAME = 'connect-latency';
const CONNECTIONS = QUICK ? 300 : 2000;
const BLOCK = 100;
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const prof = option('manager-prof');
const gcLog = option('manager-gc-log');
// V8 optimizes the door's code over its first ~8,000 connections: TurboFan compiled 66 of its functions by
// 3,000 and 150 by 8,000, and the door's CPU per connection fell by a fifth (issue 19). So both stages print:
// the early one and the warm one the goal is judged on.
const STAGES = option('warmup') ? [Number(option('warmup'))] : QUICK ? [300] : [3000, 10_000];

await main(NAME, 6 * 60_000, async () => {
  const out = reporter(NAME);
  out.title(
    `${CONNECTIONS} sequential connect + first byte per route, in alternating blocks of ${BLOCK}, after ${STAGES.map((n) => n.toLocaleString('en-US')).join(' and again after ')} connections per route`,
  );
  // The target: one SSH-banner port in its own process.
  const farm = await startPortFarm(1);
  const target = { port: farm.ports[0] };
  // The manager with one path to it and a front door (protocol ssh), in its own process.
  const child = await startManagerChild(scratch(), farm.ports, {
    paths: 1,
    listen: true,
    ...(prof ? { args: [`--cpu-prof-steady=${prof}`] } : {}),
    ...(gcLog ? { nodeArgs: ['--trace-gc'], log: gcLog } : {}),
  });
  onCleanup(() => child.stop(10_000));
  const door = { address: { port: child.door } };

  const routes = [
    { name: 'direct', port: target.port },
    {
      name: 'front door',
      port: door.address.port,
      pid: child.pid,
    },
  ];
  // The floor: a bare Node proxy (accept, dial, pipe) in its own process.
  const proxy = start(process.execPath, [
    path.join(ROOT, 'bench/children/node-proxy.js'),
    String(target.port),
  ]);
  onCleanup(() => proxy.stop());
  const proxyPort = Number((await proxy.waitForLine(/^port \d+/, 30_000)).slice('port '.length));
  routes.push({
    name: 'bare node proxy',
    port: proxyPort,
    pid: proxy.pid,
  });
  const haproxy = which('haproxy');
  if (haproxy) {
    const { port, pid } = await startHaproxyTcpProcess(haproxy, target.port);
    routes.push({ name: 'haproxy', port, pid });
  } else {
    out.skipped('haproxy', 'haproxy');
  }
  async function block(route, count, keep) {
    // The process's CPU over the measured blocks (the door's also covers its one path's probe every 2 s).
    const cpu0 = keep && route.pid ? cpuMs(route.pid) : 0;
    for (let i = 0; i < count; i += 1) {
      try {
        const elapsed = await connectFirstByte(route.port, 3000);
        if (keep) route.times.push(elapsed);
      } catch (error) {
        if (!keep) continue;
        route.failures += 1;
        route.reasons.add(error.message);
      }
    }
    if (keep && route.pid) route.cpuMs = (route.cpuMs ?? 0) + cpuMs(route.pid) - cpu0;
  }
  // Connections each route has had so far, measured ones included.
  let served = 0;
  for (const [stage, warmup] of STAGES.entries()) {
    for (const route of routes) await block(route, warmup - served, false);
    // Each stage's figures start afresh.
    for (const route of routes)
      Object.assign(route, { times: [], failures: 0, reasons: new Set(), cpuMs: undefined });
    for (let done = 0; done < CONNECTIONS; done += BLOCK) {
      for (const route of routes) await block(route, Math.min(BLOCK, CONNECTIONS - done), true);
    }
    served = warmup + CONNECTIONS;
    report(warmup, stage === STAGES.length - 1);
  }

  function report(warmup, last) {
    const after = `after ${warmup.toLocaleString('en-US')}`;
    const stats = routes.map((route) => summarize(route.times));
    const direct = stats[0];
    routes.forEach((route, i) => {
      const s = stats[i];
      const failed =
        route.failures > 0 ? `, ${route.failures} failed (${[...route.reasons].join('; ')})` : '';
      const added =
        i === 0
          ? ' (baseline)'
          : `; added p50 +${ms(s.p50 - direct.p50, 3)}, p99 +${ms(s.p99 - direct.p99, 3)}; ${ratio(s.p50, direct.p50)} / ${ratio(s.p99, direct.p99)} of direct at p50 / p99`;
      out.figure(
        `${after}, ${route.name}`,
        `p50 ${ms(s.p50, 3)}, p90 ${ms(s.p90, 3)}, p99 ${ms(s.p99, 3)}, max ${ms(s.max, 2)} (n=${s.n})${added}${failed}`,
      );
    });
    const cpuRoutes = routes.filter((route) => route.cpuMs !== undefined);
    out.figure(
      `${after}, CPU per connection (process, /proc utime+stime over the measured blocks)`,
      cpuRoutes
        .map(
          (route) =>
            `${route.name} ${((route.cpuMs / route.times.length) * 1000).toFixed(0)} µs (${ratio(route.cpuMs, cpuRoutes[0].cpuMs)} of the door's)`,
        )
        .join(', '),
    );
    const added = (i) => `p50 +${ms(stats[i].p50 - direct.p50, 3)}, p99 +${ms(stats[i].p99 - direct.p99, 3)}`;
    const floor = `; the bare node proxy adds ${added(2)}`;
    const anchor = stats[3] ? `; haproxy adds ${added(3)}` : '';
    out.note(
      last
        ? `goal, warm: < 0.2 ms added at p50 and < 1 ms at p99; measured ${after}: ${added(1)}${floor}${anchor}`
        : `${after} V8 is still optimizing the door; the goal is judged on the warm figures below`,
    );
  }
});
