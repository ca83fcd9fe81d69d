import { vi } from 'vitest';
import type { EventOf, TunnelmuxEvent } from '../events/types';
import { createManager, type ManagerConfig } from '../manager/manager';
import { memoryProvider } from './memory-provider';

/** Failover settings fast enough for fake-timer tests, with every field spelled out so tests can reason on them. */
export const FAST = {
  interval: 1000,
  fastInterval: 250,
  timeout: 500,
  maxLatency: 300,
  fall: 3,
  rise: 2,
  minDwell: 5000,
};

/** A manager over in-memory paths, recording its events; `of(type)` filters them. */
export function memoryManager(extra: Partial<ManagerConfig> = {}) {
  const memory = memoryProvider();
  const manager = createManager({
    target: '127.0.0.1:22',
    protocol: 'ssh',
    failover: FAST,
    providers: [memory.provider],
    random: () => 0.5,
    metricsInterval: 0,
    ...extra,
  });
  const events: TunnelmuxEvent[] = [];
  manager.events.on((event) => events.push(event));
  const of = <T extends TunnelmuxEvent['type']>(type: T) =>
    events.filter((event): event is EventOf<T> => event.type === type);
  return { manager, memory, events, of };
}

/** Start memory paths under fake timers: let their first probes run, then wait for the results. */
export async function startAll(manager: ReturnType<typeof createManager>, ...ids: string[]) {
  const starting = manager.startMultiple(ids.map((id) => ({ id, provider: 'memory' })));
  await vi.advanceTimersByTimeAsync(10);
  return starting;
}
