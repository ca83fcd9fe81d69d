import { createManager, type FrontDoor, type Manager, type TunnelmuxEvent } from '@tunnelmux/core';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import sshProvider from '@tunnelmux/provider-ssh';
import { type Sshd, startSshd } from '@tunnelmux/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bothPathsUp, darkSpans, jumpOptions, pathStatus, startTraffic, waitFor } from './support';

const RISE = 2;
const MIN_DWELL = 3000;

// Two real sshd jump hosts, two `ssh -L` paths, one front door, and client traffic checked by sha256 throughout.
describe('ssh: two jump hosts behind one front door', () => {
  let target: BannerServer;
  let jumpA: Sshd;
  let jumpB: Sshd;
  let manager: Manager;
  let door: FrontDoor;
  const events: TunnelmuxEvent[] = [];

  beforeAll(async () => {
    [target, jumpA, jumpB] = await Promise.all([startBannerServer(), startSshd(), startSshd()]);
    manager = createManager({
      providers: [sshProvider],
      target,
      protocol: 'ssh',
      metricsInterval: 0,
      failover: {
        interval: 300,
        timeout: 1500,
        maxLatency: 1500,
        fall: 2,
        rise: RISE,
        minDwell: MIN_DWELL,
        backoffInitial: 200,
        backoffMax: 1000,
      },
    });
    manager.events.on((event) => events.push(event));
    const started = await manager.startMultiple([
      { id: 'a', provider: 'ssh', priority: 1, options: jumpOptions(jumpA) },
      { id: 'b', provider: 'ssh', priority: 2, options: jumpOptions(jumpB) },
    ]);
    expect(started.map((result) => result.ok)).toEqual([true, true]);
    door = await manager.listen({ host: '127.0.0.1', port: 0 });
  }, 60_000);

  afterAll(async () => {
    await jumpB?.thaw();
    await door?.close();
    await manager?.shutdown();
    await Promise.all([jumpA?.close(), jumpB?.close(), target?.close()]);
  }, 60_000);

  it('primary ssh killed, then the backup jump host black-holed: no client connection fails while a path is healthy', {
    timeout: 120_000,
  }, async () => {
    await bothPathsUp(manager);
    const traffic = startTraffic(door.address.port, target.banner);
    let killedAt = 0;
    try {
      await waitFor('traffic through a', () => traffic.transfers.filter((t) => t.ok).length >= 3);

      // 1. The primary's ssh process dies: crash detection moves traffic to b at once.
      const killed = pathStatus(manager, 'a').pid!;
      killedAt = Date.now();
      process.kill(killed, 'SIGKILL');
      await waitFor('failover to b', () => manager.getPrimary() === 'b');
      const okBefore = traffic.transfers.filter((t) => t.ok).length;
      await waitFor('traffic through b', () => traffic.transfers.filter((t) => t.ok).length >= okBefore + 3);

      // 2. a is reopened with backoff; failback waits for `rise` good probes and `minDwell` up.
      const failback = await waitFor(
        'failback to a',
        () =>
          events.find(
            (e) =>
              e.type === 'primary-change' && e.to === 'a' && e.reason === 'failback' && e.time > killedAt,
          ),
        40_000,
      );
      const backUp = events.find(
        (e) => e.type === 'state-change' && e.pathId === 'a' && e.to === 'connected' && e.time > killedAt,
      )!;
      expect(backUp, 'a came back before failing back').toBeDefined();
      expect(pathStatus(manager, 'a').pid).not.toBe(killed);
      const reopened = events.find(
        (e) => e.type === 'reconnecting' && e.pathId === 'a' && e.time > killedAt,
      )!;
      const goodProbes = events.filter(
        (e) => e.type === 'probe' && e.pathId === 'a' && e.ok && e.time > reopened.time && e.seq < backUp.seq,
      );
      expect(goodProbes.length).toBeGreaterThanOrEqual(RISE);
      expect(failback.time - backUp.time).toBeGreaterThanOrEqual(MIN_DWELL - 50);

      // 3. b's jump host freezes (SIGSTOP on its session): a black hole, while a carries the traffic. The one
      // transfer that may have started on b just before the failback finishes first: bytes already inside a path
      // that then goes dark are lost without resume (that story is e2e/ssh/resume.test.ts).
      await waitFor('a transfer started after the failback', () =>
        traffic.transfers.some((t) => t.startedAt > failback.time),
      );
      const frozenAt = Date.now();
      const frozen = await jumpB.freeze();
      expect(frozen.length).toBeGreaterThan(0);
      await waitFor('b marked down', () =>
        events.some(
          (e) => e.type === 'state-change' && e.pathId === 'b' && e.from === 'connected' && e.time > frozenAt,
        ),
      );
      const okFrozen = traffic.transfers.filter((t) => t.ok).length;
      await waitFor(
        'traffic while b is dark',
        () => traffic.transfers.filter((t) => t.ok).length >= okFrozen + 3,
      );
      expect(manager.getPrimary()).toBe('a');

      // 4. Both recover; a stays primary.
      await jumpB.thaw();
      await waitFor(
        'both paths up again',
        () =>
          pathStatus(manager, 'a').state === 'connected' && pathStatus(manager, 'b').state === 'connected',
      );
      expect(manager.getPrimary()).toBe('a');
    } finally {
      await traffic.stop();
    }

    const { transfers } = traffic;
    expect(transfers.filter((t) => t.ok).length).toBeGreaterThan(10);
    // A failure is tolerable only while no path at all was healthy; here one always was.
    const spans = darkSpans(events);
    // The one connection the killed ssh process was carrying dies with it: its bytes were inside that process.
    const cutInFlight = transfers.filter((t) => !t.ok && t.startedAt <= killedAt && t.endedAt >= killedAt);
    expect(cutInFlight.length).toBeLessThanOrEqual(1);
    const failedWhileHealthy = transfers.filter(
      (t) =>
        !t.ok &&
        !cutInFlight.includes(t) &&
        !spans.some((span) => t.startedAt < span.to && t.endedAt > span.from),
    );
    expect(failedWhileHealthy, JSON.stringify({ killedAt, failedWhileHealthy })).toEqual([]);
    expect(spans).toEqual([]);
  });
});
