import { scenario, until } from '@tunnelmux/testkit';
import { describe, expect, it } from 'vitest';

// When every path is down the manager says so, keeps trying, and says so again when one returns.
describe('degraded stories', () => {
  it('all paths down: no-healthy-path, then one returns: healthy-path-restored', async () => {
    await using story = await scenario({ paths: ['a', 'b'] });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    const before = story.mark();

    story.fault('a', { mode: 'blackhole' });
    story.fault('b', { mode: 'blackhole' });

    const dark = await story.waitFor('no-healthy-path', () => true, 15_000, { after: before });
    expect(dark.paths).toBe(2);
    expect(story.manager.status().degraded).toBe(true);
    expect(story.primary()).toBeUndefined();
    // Reported once per outage, not once per failed probe.
    await story.waitFor('reconnecting', (e) => e.attempt >= 2, 15_000, { after: dark.seq });
    expect(story.eventsOf('no-healthy-path', (e) => e.seq > before)).toHaveLength(1);
    // Degraded, not dark: both paths are still being restarted.
    expect(story.status('a').state).toBe('reconnecting');
    expect(story.status('b').state).toBe('reconnecting');

    story.fault('b', {});

    const restored = await story.waitFor('healthy-path-restored', () => true, 15_000, { after: dark.seq });
    expect(restored.pathId).toBe('b');
    expect(restored.downForMs).toBeGreaterThan(0);
    expect(story.primary()).toBe('b');
    expect(story.manager.status().degraded).toBe(false);
    expect(story.manager.getMetrics().noHealthyPathMs).toBeGreaterThanOrEqual(restored.downForMs);
  });
});
