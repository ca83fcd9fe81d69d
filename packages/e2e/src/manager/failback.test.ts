import { scenario, until } from '@tunnelmux/testkit';
import { describe, expect, it } from 'vitest';

// Failback is damped; a manual pin holds until its path dies.
describe('failback and pinning stories', () => {
  it('failback only after the recovered path passes rise probes and stays up for minDwell', async () => {
    const minDwell = 1500;
    const rise = 2;
    await using story = await scenario({ paths: ['a', 'b'], failover: { minDwell, rise } });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    const before = story.mark();

    story.kill('a');
    const failover = await story.waitFor('failover', (e) => e.from === 'a', 10_000, { after: before });
    const back = await story.waitFor('connected', (e) => e.pathId === 'a', 15_000, { after: failover.seq });
    // a is up again but b stays primary through the dwell.
    expect(story.primary()).toBe('b');
    const failback = await story.waitFor('primary-change', (e) => e.reason === 'failback', 15_000, {
      after: back.seq,
    });

    expect(failback).toMatchObject({ from: 'b', to: 'a' });
    // rise: the reopened path needed `rise` passing probes before it counted as up.
    const passed = story.eventsOf(
      'probe',
      (e) => e.pathId === 'a' && e.ok && e.seq > failover.seq && e.seq < back.seq,
    );
    expect(passed.length).toBeGreaterThanOrEqual(rise);
    // dwell: a lower bound only (load can only make it later).
    expect(failback.time - back.time).toBeGreaterThanOrEqual(minDwell - 50);
    // Nothing switched in between.
    expect(
      story.eventsOf('primary-change', (e) => e.seq > failover.seq && e.seq < failback.seq),
    ).toHaveLength(1);
  });

  it('a manual primary is pinned over a better path, then its path dies: failover and the pin is cleared', async () => {
    await using story = await scenario({ paths: ['a', 'b', 'c'] });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    await until(() => story.status('c').state === 'connected', 10_000, 'c to be connected');

    story.manager.setPrimary('c');
    expect(story.primary()).toBe('c');
    expect(story.manager.status().pinned).toBe('c');
    expect(story.eventsOf('primary-change').at(-1)).toMatchObject({ from: 'a', to: 'c', reason: 'manual' });
    // The pin holds while better paths keep passing probes.
    const pinnedAt = story.mark();
    await until(
      () => story.eventsOf('probe', (e) => e.pathId === 'a' && e.ok && e.seq > pinnedAt).length >= 3,
      10_000,
      'three more passing probes of a',
    );
    expect(story.primary()).toBe('c');

    story.kill('c');

    const failover = await story.waitFor('failover', (e) => e.from === 'c', 10_000, { after: pinnedAt });
    expect(failover.to).toBe('a');
    expect(story.manager.status().pinned).toBeUndefined();
    // c comes back, but the pin is gone: a (priority 1) stays primary.
    await story.waitFor('connected', (e) => e.pathId === 'c', 15_000, { after: failover.seq });
    expect(story.primary()).toBe('a');
  });
});
