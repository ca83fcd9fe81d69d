import { descendants, isAlive } from '@tunnelmux/core/testing';
import { scenario, until } from '@tunnelmux/testkit';
import { describe, expect, it } from 'vitest';

// Stop, restart and shutdown racing each other must end in a defined state with no stray process.
describe('lifecycle stories', () => {
  it('shutdown while a path is connecting leaves no process', async () => {
    await using story = await scenario({ paths: [{ id: 'a', faults: { startup: 'hang' } }], start: false });
    const starting = story.manager.start(story.spec('a')).then(
      (status) => status.state,
      (error: Error) => error.message,
    );
    await until(async () => (await story.processes()).length === 1, 10_000, 'the forwarder to be running');
    expect(story.status('a').state).toBe('connecting');

    await story.manager.shutdown();

    expect(await starting).toBe('disconnected');
    expect(story.status('a').state).toBe('disconnected');
    expect(await story.processes()).toEqual([]);
  });

  it('stop during connect: the open is abandoned, its process killed, and the path can start again', async () => {
    await using story = await scenario({ paths: [{ id: 'a', faults: { startup: 'hang' } }], start: false });
    const starting = story.manager.start(story.spec('a'));
    await until(async () => (await story.processes()).length === 1, 10_000, 'the forwarder to be running');

    const stopped = await story.manager.stop('a');

    expect(stopped.state).toBe('disconnected');
    expect((await starting).state).toBe('disconnected');
    expect(await story.processes()).toEqual([]);
    expect(story.eventsOf('state-change', (e) => e.pathId === 'a').map((e) => `${e.from}->${e.to}`)).toEqual([
      'disconnected->connecting',
      'connecting->disconnected',
    ]);

    story.fault('a', {});
    const again = await story.manager.restart('a');
    expect(again.state).toBe('connected');
    expect(await story.processes()).toEqual([again.pid]);
  });

  it('restart during stop: the calls run in order and end connected with one live process', async () => {
    await using story = await scenario({ paths: ['a'] });
    const first = story.status('a').pid!;

    const [stopped, restarted] = await Promise.all([story.manager.stop('a'), story.manager.restart('a')]);

    expect(stopped.state).toBe('disconnected');
    expect(restarted.state).toBe('connected');
    expect(story.status('a').state).toBe('connected');
    expect(await isAlive(first)).toBe(false);
    expect(await story.processes()).toEqual([story.status('a').pid]);
  });

  it('shutdown during startMultiple leaves no process and no half state', async () => {
    await using story = await scenario({
      paths: ['a', 'b', { id: 'c', faults: { startup: 'hang' } }],
      start: false,
    });
    const starting = story.manager.startMultiple(['a', 'b', 'c'].map((id) => story.spec(id)));
    await until(async () => (await story.processes()).length >= 1, 10_000, 'a forwarder to be running');

    await story.manager.shutdown();

    const results = await starting;
    expect(results.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(results.find((r) => r.id === 'c')?.ok).toBe(false);
    for (const path of story.manager.list()) expect(path.state, path.id).toBe('disconnected');
    expect(await story.processes()).toEqual([]);
  });

  it('stopping every path is a stop, not a failover', async () => {
    await using story = await scenario({ paths: ['a', 'b'] });
    await until(() => story.primary() === 'a', 10_000, 'a to be primary');
    const before = story.mark();
    const failovers = story.manager.getMetrics().failovers;

    await story.manager.stopAll();

    expect(story.primary()).toBeUndefined();
    expect(story.eventsOf('failover', (e) => e.seq > before)).toEqual([]);
    expect(story.manager.getMetrics().failovers).toBe(failovers);
    expect(story.eventsOf('primary-change', (e) => e.seq > before).at(-1)).toMatchObject({
      to: undefined,
      reason: 'stopped',
    });
  });

  it('two concurrent restarts end with exactly one live tunnel process, the old one gone', async () => {
    await using story = await scenario({ paths: ['a'] });
    const first = story.status('a').pid!;

    await Promise.all([story.manager.restart('a'), story.manager.restart('a')]);
    await until(() => story.status('a').state === 'connected', 10_000, 'a to be connected');

    const pid = story.status('a').pid!;
    expect(await isAlive(first)).toBe(false);
    expect(await isAlive(pid)).toBe(true);
    expect(await descendants(process.pid)).toContain(pid);
    expect(await story.processes()).toEqual([pid]);
    // Every forwarder the two restarts opened is gone except the live one.
    const opened = story.eventsOf('connected', (e) => e.pathId === 'a').map((e) => e.pid!);
    for (const old of opened.filter((p) => p !== pid)) expect(await isAlive(old), `pid ${old}`).toBe(false);
  });

  it('two concurrent restarts each resolve with a settled state, not a half one', async () => {
    await using story = await scenario({ paths: ['a'] });

    const [one, two] = await Promise.all([story.manager.restart('a'), story.manager.restart('a')]);

    // Like start(), a restart overtaken by another should report where the path ended up, not "connecting".
    expect(two.state).toBe('connected');
    expect(one.state).toBe('connected');
  });
});
