import { isAlive } from '@tunnelmux/core/testing';
import { scenario, until } from '@tunnelmux/testkit';
import { describe, expect, it } from 'vitest';

// Stories of a primary that goes bad in each way a real tunnel does.
describe('failover stories', () => {
  it('primary crashes: failover at once, on the process exit, not at the next probe', async () => {
    // A slow fast-interval: only the exit (not a second failed probe) can fail a over quickly.
    await using story = await scenario({ paths: ['a', 'b'], failover: { fastInterval: 1000 } });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    const before = story.mark();

    story.kill('a', 'SIGKILL');

    const failover = await story.waitFor('failover', (e) => e.from === 'a', 10_000, { after: before });
    expect(failover.to).toBe('b');
    // Crash detection, not probe detection: the reason is the exit, and at most the one probe that was in
    // flight at the kill failed before it.
    expect(failover.reason).toMatch(/process exited \(signal SIGKILL\)/);
    const failedProbes = story.eventsOf(
      'probe',
      (e) => e.pathId === 'a' && !e.ok && e.seq > before && e.seq < failover.seq,
    );
    expect(failedProbes.length).toBeLessThanOrEqual(1);
    expect(story.primary()).toBe('b');
    // a is restarted with backoff and comes back as primary once it has proven itself.
    await story.waitFor('primary-change', (e) => e.to === 'a' && e.reason === 'failback', 15_000, {
      after: failover.seq,
    });
    expect(story.status('a').restarts).toBeGreaterThanOrEqual(1);
  });

  it('primary black-holes (its process is frozen by SIGSTOP): probes fail it over, the frozen process is reaped', async () => {
    await using story = await scenario({ paths: ['a', 'b'] });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    const before = story.mark();

    const frozen = story.kill('a', 'SIGSTOP');

    const failover = await story.waitFor('failover', (e) => e.from === 'a', 20_000, { after: before });
    expect(failover.to).toBe('b');
    expect(failover.reason).toMatch(/failures in a row: no answer within/);
    // The frozen forwarder cannot handle SIGTERM; close() must still get rid of it (SIGKILL after the grace).
    await until(async () => !(await isAlive(frozen)), 10_000, `frozen pid ${frozen} to be gone`);
    await story.waitFor('primary-change', (e) => e.to === 'a' && e.reason === 'failback', 15_000, {
      after: failover.seq,
    });
    expect(story.status('a').pid).not.toBe(frozen);
  });

  it('a frozen primary fails over when the probes judge it down, not after its teardown', async () => {
    await using story = await scenario({ paths: ['a', 'b'] });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    const before = story.mark();
    const frozen = story.kill('a', 'SIGSTOP');
    // Synchronously, at the instant of the failover: is the frozen process still there (not yet torn down)?
    let aliveAtFailover: boolean | undefined;
    const off = story.manager.events.on((event) => {
      if (event.type !== 'failover' || event.from !== 'a' || aliveAtFailover !== undefined) return;
      try {
        process.kill(frozen, 0);
        aliveAtFailover = true;
      } catch {
        aliveAtFailover = false;
      }
    });

    await story.waitFor('failover', (e) => e.from === 'a', 20_000, { after: before });
    off();

    // Traffic must move as soon as the path is known bad; closing a hung tool (SIGTERM, grace, SIGKILL)
    // can take seconds and must not hold the failover back.
    expect(aliveAtFailover, 'the failover waited for the frozen process to be killed').toBe(true);
  });

  it('primary black-holes (accepts, never answers): failover, and no failback while the hole lasts', async () => {
    await using story = await scenario({ paths: ['a', 'b'] });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    const before = story.mark();

    story.fault('a', { mode: 'blackhole' });

    const failover = await story.waitFor('failover', (e) => e.from === 'a', 20_000, { after: before });
    expect(failover.to).toBe('b');
    expect(failover.reason).toMatch(/no answer within/);
    // Reopened, a still black-holes: it must fail again (not come up) while b stays primary.
    await story.waitFor('reconnecting', (e) => e.pathId === 'a' && e.attempt >= 2, 15_000, {
      after: failover.seq,
    });
    expect(story.primary()).toBe('b');
    expect(story.eventsOf('connected', (e) => e.pathId === 'a' && e.seq > failover.seq)).toEqual([]);

    const healed = story.mark();
    story.fault('a', {});
    await story.waitFor('primary-change', (e) => e.to === 'a' && e.reason === 'failback', 15_000, {
      after: healed,
    });
  });

  it('primary latency rises over maxLatency: it counts as a failure and fails over', async () => {
    await using story = await scenario({ paths: ['a', 'b'], failover: { maxLatency: 500, timeout: 3000 } });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    const before = story.mark();

    story.fault('a', { mode: 'slow', latencyMs: 1200 });

    const failover = await story.waitFor('failover', (e) => e.from === 'a', 15_000, { after: before });
    expect(failover.to).toBe('b');
    expect(failover.reason).toMatch(/latency \d+ ms is over maxLatency 500 ms/);
    // The probe measured the latency it judged, not just "timed out".
    const slow = story.eventsOf('probe', (e) => e.pathId === 'a' && !e.ok && e.seq > before);
    expect(slow.length).toBeGreaterThanOrEqual(2);
    expect(slow.every((e) => (e.latencyMs ?? 0) > 500)).toBe(true);
  });

  it('primary flaps: a bounded number of switches, every failback damped by rise and dwell, no storm', async () => {
    const minDwell = 1500;
    await using story = await scenario({ paths: ['a', 'b'], failover: { minDwell } });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    const before = story.mark();
    const started = Date.now();

    story.fault('a', { mode: 'flap', flapMs: 300 });
    await story.waitFor('failover', (e) => e.from === 'a', 20_000, { after: before });
    // Let it flap for a while, measured by a's own probes rather than a sleep.
    await until(
      () => story.eventsOf('probe', (e) => e.pathId === 'a' && e.seq > before).length >= 20,
      30_000,
      '20 probes of the flapping path',
    );
    const windowMs = Date.now() - started;
    const switches = story.eventsOf('primary-change', (e) => e.seq > before);

    // Each failback to a needs a to stay up minDwell first, so switches are bounded by the window / minDwell.
    expect(switches.length).toBeLessThanOrEqual(2 * Math.ceil(windowMs / minDwell) + 2);
    // And far fewer than one per flap half-period (a storm).
    expect(switches.length).toBeLessThan(windowMs / 300);
    for (const failback of switches.filter((e) => e.reason === 'failback')) {
      const up = story.eventsOf('connected', (e) => e.pathId === 'a' && e.seq < failback.seq).at(-1);
      expect(up, 'a failback without a connected event before it').toBeDefined();
      expect(failback.time - up!.time).toBeGreaterThanOrEqual(minDwell - 50);
    }

    story.fault('a', {});
    await until(() => story.primary() === 'a', 20_000, 'a to be primary again once it stops flapping');
  });
});
