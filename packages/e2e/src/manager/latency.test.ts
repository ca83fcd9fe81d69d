import { readBanner, scenario, until } from '@tunnelmux/testkit';
import { describe, expect, it } from 'vitest';

// Stand-in paths whose forwarders add 5, 40 and 80 ms before each connection: the latency strategy follows
// the fastest, moves once (after the dwell) when latencies swap, and holds still when they are within the margin.
const DWELL = 1500;
const slow = (latencyMs: number) => ({ mode: 'slow' as const, latencyMs });

describe('the latency strategy, told as a story', () => {
  it('traffic follows the fastest path, follows it once after the dwell when latencies swap, and stays within the margin', async () => {
    await using story = await scenario({
      paths: [
        { id: 'a', faults: slow(80) },
        { id: 'b', faults: slow(40) },
        { id: 'c', faults: slow(5) },
      ],
      failover: {
        strategy: 'latency',
        latencyDwell: DWELL,
        // Wider than the defaults: a loaded 2-core runner adds noise of a few ms to every probe.
        latencyMargin: 10,
        latencyMarginPercent: 30,
      },
    });
    const door = await story.manager.listen({ port: 0 });
    const { manager } = story;
    const through = async () => {
      const before = Object.fromEntries(manager.list().map((p) => [p.id, p.totalConnections]));
      expect(await readBanner(door.address.port, { timeoutMs: 5000 })).toBe(story.target.banner);
      await until(
        () => manager.list().some((p) => p.totalConnections > (before[p.id] ?? 0)),
        5000,
        'a path to count the connection',
      );
      return manager.list().find((p) => p.totalConnections > (before[p.id] ?? 0))!.id;
    };
    /** Wait until every path has been probed `n` more times after `mark`: time passes, measured in events. */
    const probesPass = (mark: number, n: number) =>
      until(
        () =>
          ['a', 'b', 'c'].every(
            (id) => story.eventsOf('probe', (e) => e.pathId === id && e.ok && e.seq > mark).length >= n,
          ),
        30_000,
        `${n} more passing probes of every path`,
      );

    // 1. The fastest leads, whatever the list order says.
    await story.waitFor('primary-change', (e) => e.to === 'c', 20_000);
    expect(await through()).toBe('c');

    // 2. Latencies swap: a becomes the fastest, c the slowest. Traffic moves once, to a, after the dwell.
    const swapped = story.mark();
    const swappedAt = Date.now();
    story.fault('a', slow(5));
    story.fault('c', slow(80));
    const move = await story.waitFor('primary-change', (e) => e.seq > swapped, 30_000);
    expect(move).toMatchObject({ from: 'c', to: 'a', reason: 'latency', service: 'default' });
    // A lower bound only (load can only make it later): a had to stay faster for the whole dwell.
    expect(move.time - swappedAt).toBeGreaterThanOrEqual(DWELL);
    // Three more dwells' worth of probes: nothing else moves.
    await probesPass(move.seq, Math.ceil((3 * DWELL) / 200));
    expect(story.eventsOf('primary-change', (e) => e.seq > swapped)).toEqual([move]);
    expect(await through()).toBe('a');

    // 3. Within the margin: b gets a little faster than a (8 ms, under both 10 ms and 30 %). Nothing moves.
    const near = story.mark();
    story.fault('a', slow(50));
    story.fault('b', slow(42));
    await probesPass(near, Math.ceil((4 * DWELL) / 200));
    expect(story.eventsOf('primary-change', (e) => e.seq > near)).toEqual([]);
    expect(manager.getPrimary()).toBe('a');
    expect(await through()).toBe('a');
    expect(story.eventsOf('failover')).toEqual([]);
  });
});
