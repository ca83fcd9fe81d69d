import type { TunnelmuxEvent } from '@tunnelmux/core';
import { EventBus } from '@tunnelmux/core/events';
import { describe, expect, it } from 'vitest';
import { EventSink } from './event-sink';

describe('the event sink', () => {
  it("numbers the manager's events and its own in one sequence, keeping each event's time", async () => {
    const manager = new EventBus(16, () => 1000);
    const sink = new EventSink().forward(manager);
    const seen: TunnelmuxEvent[] = [];
    sink.on((event) => seen.push(event));
    const follower = sink.events.subscribe(['warning', 'hook-failed']);
    manager.emit({ type: 'warning', message: 'one' });
    sink.emit({ type: 'hook-failed', hook: 'command x', on: 'warning', reason: 'exit 1', count: 1 });
    manager.emit({ type: 'warning', message: 'two' });
    expect(seen.map((e) => [e.type, e.seq])).toEqual([
      ['warning', 1],
      ['hook-failed', 2],
      ['warning', 3],
    ]);
    expect(seen[0]?.time).toBe(1000);
    expect(seen[1]?.time).toBeGreaterThan(1000);
    expect((await follower.next()).value).toMatchObject({ type: 'warning', seq: 1 });
    expect((await follower.next()).value).toMatchObject({ type: 'hook-failed', seq: 2 });
    sink.close();
    manager.emit({ type: 'warning', message: 'after close' });
    expect(seen).toHaveLength(3);
  });
});
