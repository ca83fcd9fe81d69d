// Issue 3: what the front door adds to connect + first byte. Sequential connections to an SSH-banner target
// (its own process): straight to it, and through the front door (protocol ssh, one in-process path whose dial
// goes straight to the target), in alternating blocks so both see the same machine load. Goal: < 1 ms added
// at p99.
import {
  connectFirstByte,
  directProvider,
  loadBuilt,
  main,
  ms,
  onCleanup,
  QUICK,
  reporter,
  startBannerProcess,
  summarize,
} from './lib.js';

const NAME = 'connect-latency';
const CONNECTIONS = QUICK ? 300 : 2000;
const WARMUP = QUICK ? 50 : 200;
const BLOCK = 100;

await main(NAME, 6 * 60_000, async () => {
  const { core } = await loadBuilt();
  const out = reporter(NAME);
  out.title(
    `${CONNECTIONS} sequential connect + first byte per route, in alternating blocks of ${BLOCK}, after ${WARMUP} warm-up`,
  );
  const target = await startBannerProcess();
  onCleanup(() => target.stop());
  const manager = core.createManager({
    target: { host: target.host, port: target.port },
    protocol: 'ssh',
    providers: [directProvider(core)],
    metricsInterval: 0,
  });
  onCleanup(() => manager.shutdown());
  const [started] = await manager.startMultiple([{ id: 'direct', provider: 'bench-direct' }]);
  if (!started.ok) throw new Error(`the path did not start: ${started.error.message}`);
  const door = await manager.listen({ host: '127.0.0.1', port: 0 });
  onCleanup(() => door.close());

  const routes = [
    { name: 'direct', port: target.port, times: [], failures: 0, reasons: new Set() },
    { name: 'front door', port: door.address.port, times: [], failures: 0, reasons: new Set() },
  ];
  async function block(route, count, keep) {
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
  }
  for (const route of routes) await block(route, WARMUP, false);
  for (let done = 0; done < CONNECTIONS; done += BLOCK) {
    for (const route of routes) await block(route, Math.min(BLOCK, CONNECTIONS - done), true);
  }

  const [direct, viaDoor] = routes.map((route) => summarize(route.times));
  for (const [route, s] of [
    [routes[0], direct],
    [routes[1], viaDoor],
  ]) {
    const failed = route.failures > 0 ? `, ${route.failures} failed (${[...route.reasons].join('; ')})` : '';
    out.figure(
      route.name,
      `p50 ${ms(s.p50, 3)}, p90 ${ms(s.p90, 3)}, p99 ${ms(s.p99, 3)}, max ${ms(s.max, 2)} (n=${s.n})${failed}`,
    );
  }
  out.figure(
    'added by the front door',
    `p50 +${ms(viaDoor.p50 - direct.p50, 3)}, p90 +${ms(viaDoor.p90 - direct.p90, 3)}, p99 +${ms(viaDoor.p99 - direct.p99, 3)}`,
  );
  out.note(`goal: < 1 ms added at p99; measured ${ms(viaDoor.p99 - direct.p99, 3)}`);
  const status = manager.status('direct');
  out.note(`front door carried ${status.totalConnections} connections, ${status.failedDials} failed dials`);
});
