// Issue 2: how fast the manager notices a dead primary. Two real forwarder processes (testkit's `local`
// provider); the primary's forwarder is SIGKILLed (crash) or SIGSTOPped (black hole), and we time the gap to
// the `primary-change` event. A fresh manager per run, with a random wait first so the kill lands at a random
// point of the probe cycle.
import {
  loadBuilt,
  main,
  ms,
  nextEvent,
  onCleanup,
  QUICK,
  reporter,
  sleep,
  snapshotForwarder,
  startBannerProcess,
  summarize,
} from './lib.js';

const NAME = 'failover-detection';
const RUNS = QUICK ? 5 : 20;
const FAILOVER = {
  interval: 500,
  timeout: 300,
  maxLatency: 300,
  fall: 2,
  rise: 2,
  minDwell: 60_000,
  firstByteTimeout: 500,
};

/** A run that could not start its paths (not a measurement). */
class StartError extends Error {}

/**
 * Retry a run whose paths failed to start: on a shared machine a concurrent rebuild of testkit's dist can
 * briefly remove the forwarder script. Measurement failures are never retried.
 */
async function retryStart(fn, out) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof StartError) || attempt >= 3) throw error;
      out.note(`retrying a run that did not start: ${error.message.slice(0, 160)}`);
      await sleep(3000);
    }
  }
}

await main(NAME, 8 * 60_000, async () => {
  const { core, testkit } = await loadBuilt();
  const out = reporter(NAME);
  out.title(
    `SIGKILL / SIGSTOP of the primary's forwarder -> primary-change, ${RUNS} runs each, interval ${FAILOVER.interval} ms, timeout ${FAILOVER.timeout} ms, fall ${FAILOVER.fall}`,
  );
  const forwarderScript = await snapshotForwarder();
  const target = await startBannerProcess();
  onCleanup(() => target.stop());

  /** One run: start two paths, wait for p1 primary, hurt it, time the switch. */
  async function once(signal) {
    const manager = core.createManager({
      target: { host: target.host, port: target.port },
      protocol: 'ssh',
      failover: FAILOVER,
      providers: [testkit.createLocalProvider({ forwarderScript })],
      metricsInterval: 0,
    });
    let victim;
    const done = () => {
      if (victim) {
        try {
          process.kill(victim, 'SIGCONT');
        } catch {
          // Already gone.
        }
      }
      return manager.shutdown();
    };
    onCleanup(done);
    try {
      const results = await manager.startMultiple([
        { id: 'p1', provider: 'local', priority: 1 },
        { id: 'p2', provider: 'local', priority: 2 },
      ]);
      const failed = results.find((result) => !result.ok);
      if (failed) throw new StartError(`path ${failed.id} did not start: ${failed.error.message}`);
      if (manager.getPrimary() !== 'p1') {
        await nextEvent(manager, (e) => e.type === 'primary-change' && e.to === 'p1', 10_000);
      }
      // Land somewhere random in the probe cycle, as a real failure would.
      await sleep(200 + Math.random() * FAILOVER.interval);
      victim = manager.status('p1').pid;
      if (!victim) throw new Error('p1 has no pid');
      let switched;
      let detected;
      // The probe that crosses \`fall\`: when the path is known dead, before the manager acts on it.
      const offProbe = manager.events.on((e) => {
        if (e.type === 'probe' && e.pathId === 'p1' && !e.ok && e.consecutiveFailures >= FAILOVER.fall) {
          detected ??= performance.now();
        }
      });
      const change = nextEvent(
        manager,
        (e) => {
          if (e.type !== 'primary-change' || e.from !== 'p1') return false;
          switched = performance.now();
          return true;
        },
        15_000,
      );
      const t0 = performance.now();
      process.kill(victim, signal);
      const event = await change.finally(offProbe);
      if (event.to !== 'p2') throw new Error(`primary went to ${event.to}, expected p2`);
      return { switch: switched - t0, detect: detected === undefined ? undefined : detected - t0 };
    } finally {
      await done();
    }
  }

  for (const [label, signal] of [
    ['crash (SIGKILL)', 'SIGKILL'],
    ['black hole (SIGSTOP)', 'SIGSTOP'],
  ]) {
    const runs = [];
    for (let i = 0; i < RUNS; i += 1) runs.push(await retryStart(() => once(signal), out));
    const s = summarize(runs.map((r) => r.switch));
    out.figure(
      `${label} -> primary-change`,
      `median ${ms(s.median)}, p90 ${ms(s.p90)}, min ${ms(s.min)}, max ${ms(s.max)} (n=${s.n})`,
    );
    const probed = runs.filter((r) => r.detect !== undefined);
    if (probed.length > 0) {
      const d = summarize(probed.map((r) => r.detect));
      const gap = summarize(probed.map((r) => r.switch - r.detect));
      out.figure(
        `${label} -> fall-th failed probe`,
        `median ${ms(d.median)}, p90 ${ms(d.p90)}; then to primary-change: median ${ms(gap.median)}, p90 ${ms(gap.p90)} (n=${d.n})`,
      );
    }
  }
  const cycle = FAILOVER.interval * 1.1 + FAILOVER.timeout + (FAILOVER.interval / 4) * 1.1 + FAILOVER.timeout;
  out.note(
    `black-hole worst case by design ~ interval + timeout + fastInterval + timeout = ${ms(cycle, 0)} (with 10% jitter)`,
  );
});
