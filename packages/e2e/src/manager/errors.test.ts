import { commandLine } from '@tunnelmux/core/testing';
import { scenario, until } from '@tunnelmux/testkit';
import { describe, expect, it } from 'vitest';

// Fatal errors are reported once; secrets never leave through events.
describe('error stories', () => {
  it('auth failure on first open is reported once: one error event, state failed, no retry', async () => {
    await using story = await scenario({ paths: [{ id: 'a', faults: { startup: 'auth' } }, 'b'] });

    const [a, b] = story.started;
    expect(a).toMatchObject({ id: 'a', ok: false });
    expect(b).toMatchObject({ id: 'b', ok: true });
    expect(story.status('a').state).toBe('failed');
    expect(story.primary()).toBe('b');
    // Give a retry loop every chance to show itself: several probe rounds of b.
    const mark = story.mark();
    await until(
      () => story.eventsOf('probe', (e) => e.pathId === 'b' && e.seq > mark).length >= 5,
      10_000,
      'five probes of b',
    );
    const errors = story.eventsOf('error', (e) => e.pathId === 'a');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ fatal: true, provider: 'local' });
    expect(errors[0]!.message).toMatch(/authentication failed/);
    expect(story.eventsOf('reconnecting', (e) => e.pathId === 'a')).toEqual([]);
    expect(story.eventsOf('state-change', (e) => e.pathId === 'a').map((e) => e.to)).toEqual([
      'connecting',
      'failed',
    ]);
    expect(story.status('a').state).toBe('failed');
    expect(story.status('a').pid).toBeUndefined();
    // One live forwarder: b's. The failed a left none.
    expect(await story.processes()).toEqual([story.status('b').pid]);
  });

  it('a canary secret in options never appears in events, status or argv', async () => {
    const canary = 'canary-0d4c7a1e-do-not-leak';
    await using story = await scenario({
      paths: [
        // The forwarder echoes the credential it rejects, like a chatty tool: redaction must catch it.
        { id: 'a', faults: { startup: 'auth' }, options: { secret: canary } },
        { id: 'b', options: { secret: canary } },
        'c',
      ],
    });
    await until(() => story.status('b').state === 'connected', 10_000, 'b to be connected');
    const bPid = story.status('b').pid!;
    expect(await commandLine(bPid)).not.toContain(canary);
    // Crash b so its last lines and exit travel through events too.
    const mark = story.mark();
    story.kill('b');
    await story.waitFor('connected', (e) => e.pathId === 'b', 15_000, { after: mark });

    const everything = JSON.stringify([story.events, story.manager.status(), story.manager.getMetrics()]);
    // The test can fail: the secret did reach the error path (the auth line), it must arrive redacted.
    const [authError] = story.eventsOf('error', (e) => e.pathId === 'a');
    expect(authError?.message).toContain('credential "***" was rejected');
    expect(everything).not.toContain(canary);
    expect(await story.manager.prometheus()).not.toContain(canary);
  });
});
