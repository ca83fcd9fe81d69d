import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { scenario, until } from './scenario';
import { describeEvent } from './timeline';

describe('scenario', () => {
  it('records events, answers waitFor from history and the future, and closes clean', async () => {
    const story = await scenario({ paths: ['a', 'b'] });
    expect(story.started.map((r) => (r.ok ? 'ok' : r.error.message))).toEqual(['ok', 'ok']);
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    // Already happened: found in the history.
    const up = await story.waitFor('connected', (e) => e.pathId === 'a');
    expect(up.pid).toBe(story.status('a').pid);
    // Still to come: only events after the mark count.
    const mark = story.mark();
    const next = story.waitFor('probe', (e) => e.pathId === 'b', 10_000, { after: mark });
    expect((await next).seq).toBeGreaterThan(mark);
    expect(story.timeline()).toMatch(/\+\d+\.\d\ds {2}connected a: 127\.0\.0\.1:\d+ pid \d+/);
    expect((await story.processes()).sort()).toEqual([story.status('a').pid, story.status('b').pid].sort());
    await story.close();
    expect(await story.processes()).toEqual([]);
  });

  it('waitFor rejects on timeout with the timeline in the message', async () => {
    await using story = await scenario({ paths: ['a'] });
    await expect(story.waitFor('failover', () => true, 300)).rejects.toThrow(
      /no "failover" event.*timeline:/s,
    );
  });

  it('close() fails loudly (and kills) when a forwarder outlives the manager', async () => {
    const story = await scenario({ paths: ['a'] });
    // A stray process that carries the story's fault folder in its argv, as a leaked forwarder would.
    const stray = spawn(
      process.execPath,
      ['-e', 'setInterval(() => {}, 1000)', story.plan.fileFor('stray')],
      {
        stdio: 'ignore',
      },
    );
    await until(async () => (await story.processes()).includes(stray.pid!), 5000, 'the stray process');
    await expect(story.close()).rejects.toThrow(new RegExp(`outlived manager.shutdown\\(\\): ${stray.pid}`));
    await until(() => stray.exitCode !== null || stray.signalCode !== null, 5000, 'the stray to be killed');
  });

  it('formats a failover the way the demo prints it', () => {
    const line = describeEvent({
      type: 'failover',
      from: 'a',
      to: 'b',
      reason: 'process exited',
      time: 0,
      seq: 1,
    });
    expect(line).toBe('failover  a -> b  (process exited)');
  });
});
