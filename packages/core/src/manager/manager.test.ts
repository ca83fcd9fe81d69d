import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FAST, memoryManager, startAll } from '../test-utils/memory-manager';
import { memoryProvider } from '../test-utils/memory-provider';
import { createManager } from './manager';

const setup = memoryManager;
const paths = (...ids: string[]) => ids.map((id) => ({ id, provider: 'memory' }));

describe('manager', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts paths in parallel, keeps order, and makes the best priority primary', async () => {
    const { manager, of } = setup();
    const starting = manager.startMultiple(paths('a', 'b', 'c'));
    await vi.advanceTimersByTimeAsync(10);
    const results = await starting;
    expect(results.map((r) => [r.id, r.ok])).toEqual([
      ['a', true],
      ['b', true],
      ['c', true],
    ]);
    expect(manager.list().map((p) => [p.id, p.priority, p.state])).toEqual([
      ['a', 0, 'connected'],
      ['b', 1, 'connected'],
      ['c', 2, 'connected'],
    ]);
    expect(manager.getPrimary()).toBe('a');
    expect(of('primary-change').at(-1)).toMatchObject({ to: 'a' });
    await manager.shutdown();
  });

  it('lists (and routes to) a path added, replaced or removed after the paths were last read', async () => {
    const { manager } = setup();
    await startAll(manager, 'a');
    // Read once, so any ordering kept between reads has been made.
    expect(manager.list().map((p) => p.id)).toEqual(['a']);
    const adding = manager.add({ id: 'b', provider: 'memory' });
    await vi.advanceTimersByTimeAsync(10);
    await adding;
    expect(manager.list().map((p) => [p.id, p.state])).toEqual([
      ['a', 'connected'],
      ['b', 'connected'],
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(manager.list()).toHaveLength(2);
    const replacing = manager.replace({ id: 'a', provider: 'memory' }, { drainMs: 0 });
    await vi.advanceTimersByTimeAsync(10);
    await replacing;
    // The replacement (connected just now), not the runner it replaced.
    expect(manager.list().map((p) => [p.id, p.state, p.since])).toEqual([
      ['a', 'connected', manager.status('a').since],
      ['b', 'connected', manager.status('b').since],
    ]);
    expect(manager.status('a').since).toBeGreaterThan(manager.status('b').since!);
    const removing = manager.remove('b');
    await vi.advanceTimersByTimeAsync(10);
    await removing;
    expect(manager.list().map((p) => p.id)).toEqual(['a']);
    const adding2 = manager.add({ id: 'c', provider: 'memory' });
    await vi.advanceTimersByTimeAsync(10);
    await adding2;
    expect(manager.list().map((p) => p.id)).toEqual(['a', 'c']);
    const draining = manager.drain('c', { timeoutMs: 0 });
    await vi.advanceTimersByTimeAsync(10);
    await draining;
    expect(manager.list().map((p) => p.id)).toEqual(['a']);
    await manager.shutdown();
  });

  it('fails over the instant the primary process exits, not at the next probe', async () => {
    const { manager, memory, of } = setup();
    await startAll(manager, 'a', 'b');
    memory.live('a')[0]!.crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(manager.getPrimary()).toBe('b');
    expect(manager.status('a').state).toBe('reconnecting');
    expect(of('failover')).toHaveLength(1);
    expect(of('failover')[0]).toMatchObject({ from: 'a', to: 'b' });
    expect(of('failover')[0]!.reason).toContain('process exited (code 1)');
    await manager.shutdown();
  });

  it('marks a silent path down after `fall` failed probes and restarts it', async () => {
    const { manager, memory, of } = setup();
    await startAll(manager, 'a', 'b');
    memory.behaviour('a').dial = 'silent';
    // Probes 1..3 each time out after 500 ms; the 2nd and 3rd come at the fast interval.
    await vi.advanceTimersByTimeAsync(1000 + 500);
    expect(manager.getPrimary()).toBe('a');
    expect(manager.status('a').consecutiveFailures).toBe(1);
    await vi.advanceTimersByTimeAsync(2 * (250 + 500));
    expect(manager.getPrimary()).toBe('b');
    expect(of('failover')[0]!.reason).toMatch(/3 failures in a row: no answer within 500 ms/);
    expect(memory.tunnels('a')[0]!.closed).toBe(true);
    await manager.shutdown();
  });

  it('with protocol tcp, learns that the target speaks first and then catches a silent black hole', async () => {
    const { manager, memory } = setup({ protocol: 'tcp' });
    const starting = manager.startMultiple(paths('a', 'b'));
    await vi.advanceTimersByTimeAsync(100);
    await starting;
    memory.behaviour('a').dial = 'silent';
    await vi.advanceTimersByTimeAsync(1000 + 500 + 2 * (250 + 500) + 10);
    expect(manager.getPrimary()).toBe('b');
    expect(manager.status('a').lastError).toMatch(/no answer within 500 ms/);
    await manager.shutdown();
  });

  it('takes a probed-down path out of rotation at once but restarts it only when its live connections are gone', async () => {
    const { manager, memory } = setup();
    await startAll(manager, 'a', 'b');
    // A live connection through a, as the front door's meter would count it.
    const counters = (
      manager as unknown as { paths: Map<string, { counters: { activeConnections: number } }> }
    ).paths.get('a')!.counters;
    counters.activeConnections = 1;
    memory.behaviour('a').dial = 'silent';
    await vi.advanceTimersByTimeAsync(1000 + 500 + 2 * (250 + 500) + 10);
    expect(manager.getPrimary()).toBe('b');
    expect(manager.status('a').state).toBe('reconnecting');
    expect(memory.tunnels('a')[0]!.closed).toBe(false);
    // The live connection ends: the restart goes ahead.
    counters.activeConnections = 0;
    await vi.advanceTimersByTimeAsync(1000);
    expect(memory.tunnels('a')[0]!.closed).toBe(true);
    await manager.shutdown();
  });

  it('counts latency over maxLatency as a failure', async () => {
    const { manager, memory } = setup();
    await startAll(manager, 'a', 'b');
    memory.behaviour('a').latencyMs = 400;
    await vi.advanceTimersByTimeAsync(1000 + 400 + 2 * (250 + 400) + 10);
    expect(manager.getPrimary()).toBe('b');
    expect(manager.status('a').lastError ?? '').toMatch(/latency|probes failed/);
    await manager.shutdown();
  });

  it('fails back only after the better path has risen and dwelt', async () => {
    const { manager, memory, of } = setup();
    await startAll(manager, 'a', 'b');
    memory.live('a')[0]!.crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(manager.getPrimary()).toBe('b');
    // A short run counts as a flap: backoff ceiling 1000 ms x random 0.5 = 500 ms, reopen, `rise` = 2 probes.
    await vi.advanceTimersByTimeAsync(500 + 10 + 250 + 10);
    expect(manager.status('a').state).toBe('connected');
    expect(manager.getPrimary()).toBe('b');
    await vi.advanceTimersByTimeAsync(3000);
    expect(manager.getPrimary()).toBe('b');
    await vi.advanceTimersByTimeAsync(3000);
    expect(manager.getPrimary()).toBe('a');
    expect(of('primary-change').at(-1)).toMatchObject({ from: 'b', to: 'a', reason: 'failback' });
    await manager.shutdown();
  });

  it('pins a manual primary until its path goes down', async () => {
    const { manager, memory, of } = setup();
    await startAll(manager, 'a', 'b', 'c');
    manager.setPrimary('c');
    expect(manager.getPrimary()).toBe('c');
    expect(of('primary-change').at(-1)).toMatchObject({ to: 'c', reason: 'manual' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(manager.getPrimary()).toBe('c');
    memory.live('c')[0]!.crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(manager.getPrimary()).toBe('a');
    expect(manager.status().pinned).toBeUndefined();
    expect(() => manager.setPrimary('nope')).toThrow(/no path "nope"; known paths: a, b, c/);
    await manager.shutdown();
  });

  it('reports a fatal error on first open once and does not retry it', async () => {
    const { manager, memory, of } = setup();
    memory.behaviour('a').openError = 'fatal';
    const status = await manager.start({ id: 'a', provider: 'memory' });
    expect(status.state).toBe('failed');
    expect(status.lastError).toContain('[tunnelmux] [memory] authentication failed');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(of('error')).toHaveLength(1);
    expect(of('error')[0]).toMatchObject({ fatal: true, pathId: 'a' });
    expect(memory.tunnels('a')).toHaveLength(0);
    expect(manager.status('a').state).toBe('failed');
    await manager.shutdown();
  });

  it('does not restart a path whose tool exits with a fatal reason after it opened', async () => {
    const { manager, memory, of } = setup();
    await vi.advanceTimersByTimeAsync(0);
    const starting = manager.start({ id: 'a', provider: 'memory' });
    await vi.advanceTimersByTimeAsync(10);
    await starting;
    memory.live('a')[0]!.crash(1, true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(manager.status('a').state).toBe('failed');
    expect(memory.tunnels('a')).toHaveLength(1);
    expect(of('error')).toHaveLength(1);
    expect(of('error')[0]).toMatchObject({ fatal: true });
    await manager.shutdown();
  });

  it('retries a transient open failure with backoff and says so', async () => {
    const { manager, memory, of } = setup();
    memory.behaviour('a').openError = 'transient';
    const status = await manager.start({ id: 'a', provider: 'memory' });
    expect(status.state).toBe('reconnecting');
    expect(of('reconnecting')[0]).toMatchObject({ attempt: 1, delayMs: 250 });
    await vi.advanceTimersByTimeAsync(300);
    expect(manager.status('a').state).toBe('connected');
    await manager.shutdown();
  });

  it('says when no path is healthy, and when one returns', async () => {
    const { manager, memory, of } = setup();
    await startAll(manager, 'a', 'b');
    memory.behaviour('a').openError = 'transient';
    memory.behaviour('b').openError = 'transient';
    memory.live('a')[0]!.crash();
    memory.live('b')[0]!.crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(manager.getPrimary()).toBeUndefined();
    expect(manager.status().degraded).toBe(true);
    expect(of('no-healthy-path')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(manager.status().degraded).toBe(false);
    expect(of('healthy-path-restored')).toHaveLength(1);
    expect(manager.getMetrics().noHealthyPathMs).toBeGreaterThan(0);
    await manager.shutdown();
  });

  it('keeps the primary when auto failover is off', async () => {
    const { manager, memory } = setup();
    await startAll(manager, 'a', 'b');
    manager.enableAutoFailover(false);
    memory.behaviour('a').openError = 'transient';
    memory.live('a')[0]!.crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(manager.getPrimary()).toBe('a');
    manager.enableAutoFailover(true);
    expect(manager.getPrimary()).toBe('b');
    await manager.shutdown();
  });

  it('probes an undialable path through its own check when it asks for that', async () => {
    const { manager, memory } = setup();
    Object.assign(memory.behaviour('x'), { checkOnly: true, dial: 'refuse' });
    const starting = manager.start({ id: 'x', provider: 'memory' });
    await vi.advanceTimersByTimeAsync(10);
    expect((await starting).state).toBe('connected');
    memory.behaviour('x').checkOk = false;
    await vi.advanceTimersByTimeAsync(1000 + 2 * 250 + 10);
    expect(manager.status('x').state).toBe('reconnecting');
    expect(manager.status('x').lastError).toContain('/ready answered 503');
    await manager.shutdown();
  });

  it('redacts secrets a provider registers from every event', async () => {
    const { manager, events } = setup();
    const canary = 'canary-7f3a9b1c';
    const starting = manager.start({ id: 'a', provider: 'memory', options: { secret: canary } });
    await vi.advanceTimersByTimeAsync(10);
    await starting;
    expect(events.some((e) => e.type === 'log')).toBe(true);
    expect(JSON.stringify(events)).not.toContain(canary);
    await manager.shutdown();
  });
  it('builds metrics and probe events only while someone takes them', async () => {
    const memory = memoryProvider();
    const manager = createManager({
      target: '127.0.0.1:22',
      protocol: 'ssh',
      failover: FAST,
      providers: [memory.provider],
      random: () => 0.5,
      metricsInterval: 1000,
    });
    const snapshots = vi.spyOn(manager, 'getMetrics');
    await startAll(manager, 'a');
    await vi.advanceTimersByTimeAsync(3000);
    expect(snapshots).not.toHaveBeenCalled();
    const types = new Set<string>();
    const off = manager.events.on((event) => types.add(event.type));
    await vi.advanceTimersByTimeAsync(2100);
    off();
    expect(snapshots).toHaveBeenCalled();
    expect([...types].sort()).toEqual(['metrics', 'probe']);
    await manager.shutdown();
  });

  it('a tunnel whose close() hangs is given up after 30 s: the shutdown ends, says what it waited for, and warns', async () => {
    const { manager, memory, of } = setup();
    await startAll(manager, 'a', 'b');
    memory.behaviour('a').closeHangs = true;
    let done = false;
    const shutting = manager.shutdown().then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1);
    expect(manager.stopping()).toBe('path(s) a (connected) stopping');
    await vi.advanceTimersByTimeAsync(29_998);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await shutting;
    expect(manager.stopping()).toBeUndefined();
    expect(of('warning').map((e) => e.message)).toEqual([
      'path "a": the memory tunnel did not close within 30 s, so the path went on without it. This is a bug in the provider: report it to its author',
    ]);
    expect(manager.list().map((p) => p.state)).toEqual(['disconnected', 'disconnected']);
  });
});

describe('manager races', () => {
  it('stop during connect aborts the open and leaves no tunnel', async () => {
    const { manager, memory } = setup();
    memory.behaviour('a').openHangs = true;
    const starting = manager.start({ id: 'a', provider: 'memory' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(manager.status('a').state).toBe('connecting');
    await manager.stop('a');
    expect((await starting).state).toBe('disconnected');
    expect(memory.live('a')).toHaveLength(0);
    await manager.shutdown();
  });

  it('restart during stop ends connected with exactly one live tunnel', async () => {
    const { manager, memory } = setup();
    await manager.start({ id: 'a', provider: 'memory' });
    const stopping = manager.stop('a');
    const restarting = manager.restart('a');
    await Promise.all([stopping, restarting]);
    expect(manager.status('a').state).toBe('connected');
    expect(memory.live('a')).toHaveLength(1);
    await manager.shutdown();
    expect(memory.live('a')).toHaveLength(0);
  });

  it('two concurrent restarts end connected with exactly one live tunnel', async () => {
    const { manager, memory } = setup();
    await manager.start({ id: 'a', provider: 'memory' });
    await Promise.all([manager.restart('a'), manager.restart('a')]);
    expect(manager.status('a').state).toBe('connected');
    expect(memory.live('a')).toHaveLength(1);
    expect(memory.tunnels('a')).toHaveLength(3);
    await manager.shutdown();
  });

  it('shutdown during startMultiple leaves nothing open and refuses new work', async () => {
    const { manager, memory } = setup();
    memory.behaviour('b').openHangs = true;
    const starting = manager.startMultiple(paths('a', 'b', 'c'));
    await new Promise((resolve) => setImmediate(resolve));
    await manager.shutdown();
    const results = await starting;
    expect(results).toHaveLength(3);
    for (const id of ['a', 'b', 'c']) expect(memory.live(id)).toHaveLength(0);
    expect(manager.list().every((p) => p.state === 'disconnected')).toBe(true);
    await expect(manager.start({ id: 'd', provider: 'memory' })).rejects.toThrow(/shut down/);
  });
});

describe('manager input', () => {
  it('names the field, the value and the expectation', async () => {
    const { manager } = setup();
    await expect(manager.start({ id: 'a', provider: 'nope' })).rejects.toThrow(
      '[tunnelmux] path "a": provider must be a registered provider, got "nope" (string); registered: memory',
    );
    await expect(manager.start({ id: 'a b', provider: 'memory' })).rejects.toThrow(
      /path "a b" id: must be letters/,
    );
    await expect(manager.start({ id: 'a', provider: 'memory', options: { port: 1 } })).rejects.toThrow(
      /\[tunnelmux\] \[memory\] path "a": options: .*port/,
    );
    await expect(manager.start({ id: 'a', provider: 'memory', target: 'nohost' })).rejects.toThrow(
      /target: must be host:port/,
    );
    expect(() => createManager({ failover: { interval: 'soon' } })).toThrow(
      /manager config failover.interval: must be a duration such as 500ms, 2s or 1m .*got "soon" \(string\)/,
    );
    expect(() => createManager({ failover: { fall: 0 } })).toThrow(/failover.fall/);
    expect(() => createManager({ failover: { bogus: 1 } as never })).toThrow(/bogus/);
    expect(() => manager.register({ name: 'x' } as never)).toThrow(/made with defineProvider/);
    await manager.start({ id: 'a', provider: 'memory' });
    await expect(manager.start({ id: 'a', provider: 'memory' })).rejects.toThrow(/already exists/);
    await manager.shutdown();
  });

  it('exports metrics as a snapshot and as Prometheus text', async () => {
    const { manager } = setup();
    await manager.start({ id: 'a', provider: 'memory' });
    const snapshot = manager.getMetrics();
    expect(snapshot.paths[0]).toMatchObject({ id: 'a', state: 'connected', primary: true });
    expect(snapshot.paths[0]!.latencyMs.samples).toBe(1);
    const text = await manager.prometheus();
    expect(text).toContain('tunnelmux_path_up{service="default",path="a",provider="memory"} 1');
    expect(text).toContain(
      'tunnelmux_path_state{service="default",path="a",provider="memory",state="connected"} 1',
    );
    expect(text).toMatch(
      /tunnelmux_path_latency_seconds\{service="default",path="a",provider="memory",quantile="0.5"\} /,
    );
    expect(text).toContain('tunnelmux_failovers_total{service="default"} 0');
    // A `quantile` label belongs to a summary only (promtool check metrics refuses it on a gauge).
    expect(text).toContain('# TYPE tunnelmux_path_latency_seconds summary');
    await manager.shutdown();
  });

  it('disposes with `await using`', async () => {
    const memory = memoryProvider();
    {
      await using manager = createManager({
        target: '127.0.0.1:22',
        providers: [memory.provider],
        metricsInterval: 0,
      });
      await manager.start({ id: 'a', provider: 'memory' });
      expect(memory.live('a')).toHaveLength(1);
    }
    expect(memory.live('a')).toHaveLength(0);
  });
});
