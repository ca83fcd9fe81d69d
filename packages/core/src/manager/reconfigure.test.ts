import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TunnelmuxEvent } from '../events/types';
import { FAST, memoryManager, startAll } from '../test-utils/memory-manager';
import { memoryProvider } from '../test-utils/memory-provider';
import { createManager } from './manager';

const setup = memoryManager;

describe('a manager reconfigured while it runs', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('applies a new fall to the running paths without restarting them or emitting anything', async () => {
    const { manager, memory, events, of } = setup();
    await startAll(manager, 'a', 'b');
    const seen = events.length;
    const settings = manager.reconfigure({ failover: { ...FAST, fall: 1 } });
    expect(settings.fall).toBe(1);
    expect(manager.failoverSettings.fall).toBe(1);
    expect(events.slice(seen)).toEqual([]);
    // Same tunnels, still up.
    expect(memory.tunnels('a')).toHaveLength(1);
    expect(manager.status('a').state).toBe('connected');

    memory.behaviour('a').dial = 'silent';
    // One failed probe (at the next interval, timing out after 500 ms) is enough now; it took three before.
    await vi.advanceTimersByTimeAsync(1000 + 500 + 10);
    expect(manager.getPrimary()).toBe('b');
    expect(of('failover')[0]!.reason).toMatch(/^1 failures in a row/);
    await manager.shutdown();
  });

  it('refuses an invalid block with the field and value, and changes nothing', async () => {
    const { manager } = setup();
    await startAll(manager, 'a');
    expect(() => manager.reconfigure({ failover: { fall: 0 } })).toThrow(/fall/);
    expect(() => manager.reconfigure({ failover: { strategy: 'fastest' as 'latency' } })).toThrow(/strategy/);
    expect(manager.failoverSettings).toMatchObject({ fall: 3, strategy: 'priority' });
    await manager.shutdown();
  });

  it('switches a running service to the latency strategy: traffic moves to the faster path after the dwell', async () => {
    const { manager, memory, of } = setup();
    memory.behaviour('a').latencyMs = 80;
    memory.behaviour('b').latencyMs = 5;
    const starting = manager.startMultiple([
      { id: 'a', provider: 'memory' },
      { id: 'b', provider: 'memory' },
    ]);
    await vi.advanceTimersByTimeAsync(200);
    await starting;
    expect(manager.getPrimary()).toBe('a');
    manager.reconfigure({ failover: { ...FAST, strategy: 'latency', latencyDwell: 3000 } });
    // Still a right after the change: b must stay faster for the whole dwell first.
    await vi.advanceTimersByTimeAsync(2000);
    expect(manager.getPrimary()).toBe('a');
    await vi.advanceTimersByTimeAsync(3000);
    expect(manager.getPrimary()).toBe('b');
    const moves = of('primary-change').filter((e) => e.reason === 'latency');
    expect(moves).toEqual([expect.objectContaining({ from: 'a', to: 'b', service: 'default' })]);
    // And back to priority: a leads again at once (it is up and better by priority).
    manager.reconfigure({ failover: FAST });
    expect(manager.getPrimary()).toBe('a');
    await manager.shutdown();
  });
});

describe("a manager's service name", () => {
  it('is stamped on every event and metrics snapshot, default "default"', async () => {
    const memory = memoryProvider();
    const named = createManager({
      service: 'db',
      providers: [memory.provider],
      target: '127.0.0.1:5432',
      metricsInterval: 0,
    });
    const plain = createManager({
      providers: [memory.provider],
      target: '127.0.0.1:5432',
      metricsInterval: 0,
    });
    const seen: TunnelmuxEvent[][] = [[], []];
    named.events.on((e) => seen[0]!.push(e));
    plain.events.on((e) => seen[1]!.push(e));
    await named.start({ id: 'x', provider: 'memory' });
    await plain.start({ id: 'x', provider: 'memory' });
    expect(seen[0]!.length).toBeGreaterThan(2);
    expect(new Set(seen[0]!.map((e) => e.service))).toEqual(new Set(['db']));
    expect(new Set(seen[1]!.map((e) => e.service))).toEqual(new Set(['default']));
    expect(named.service).toBe('db');
    expect(named.getMetrics().service).toBe('db');
    expect(await named.prometheus()).toContain(
      'tunnelmux_path_up{service="db",path="x",provider="memory"} 1',
    );
    await Promise.all([named.shutdown(), plain.shutdown()]);
  });

  it('must be a short name', () => {
    expect(() => createManager({ service: 'no spaces' })).toThrow(/service.*"no spaces"/s);
  });

  it('cannot smuggle series into the Prometheus exposition or lines into the event log', () => {
    // A name ends up in label values and log lines: quotes, braces and newlines are refused outright.
    for (const bad of ['x"} 1\nfake_metric 1', 'a\nb', 'a{b}', '', '-lead', 'x'.repeat(64)]) {
      expect(() => createManager({ service: bad }), JSON.stringify(bad)).toThrow(/service/);
    }
  });
});
