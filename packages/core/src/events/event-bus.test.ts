import { describe, expect, it } from 'vitest';
import { EventBus } from './event-bus';

const probe = (n: number) => ({
  type: 'probe' as const,
  pathId: 'a',
  provider: 'p',
  ok: true,
  consecutiveFailures: n,
});

describe('EventBus', () => {
  it('delivers matching events in order as an async iterable', async () => {
    const bus = new EventBus();
    const sub = bus.subscribe('probe', (event) => event.consecutiveFailures !== 1);
    for (const n of [0, 1, 2]) bus.emit(probe(n));
    bus.emit({ type: 'warning', message: 'not for this subscriber' });
    const seen: number[] = [];
    for await (const event of sub) {
      seen.push(event.consecutiveFailures);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([0, 2]);
    expect(bus.subscriberCount).toBe(0);
  });

  it('drops the oldest events for a reader that never reads, and counts them', () => {
    const bus = new EventBus();
    const sub = bus.subscribe('*', undefined, { bufferSize: 10 });
    for (let n = 0; n < 10_000; n++) bus.emit(probe(n));
    expect(sub.pending).toBe(10);
    expect(sub.dropped).toBe(9990);
    expect(bus.dropped).toBe(9990);
  });

  it('numbers events and stamps their time', () => {
    const bus = new EventBus(8, () => 42);
    const a = bus.emit(probe(0));
    const b = bus.emit(probe(1));
    expect([a.seq, b.seq, a.time]).toEqual([1, 2, 42]);
  });

  it('rejects unknown event names with the list of known ones', () => {
    const bus = new EventBus();
    expect(() => bus.subscribe('nope' as never)).toThrow(
      /unknown event type "nope"; expected one of state-change/,
    );
  });

  it('ends subscriptions on close and on abort', async () => {
    const bus = new EventBus();
    const controller = new AbortController();
    const aborted = bus.subscribe('*', undefined, { signal: controller.signal });
    const closed = bus.subscribe('*');
    const pending = closed.next();
    controller.abort();
    bus.close();
    expect(await aborted.next()).toEqual({ value: undefined, done: true });
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('says whether an event type would reach anyone, so frequent events need not be built', () => {
    const bus = new EventBus();
    expect(bus.wants('probe')).toBe(false);
    const failovers = bus.subscribe('failover');
    expect(bus.wants('probe')).toBe(false);
    expect(bus.wants('failover')).toBe(true);
    failovers.close();
    expect(bus.wants('failover')).toBe(false);
    const all = bus.subscribe('*');
    expect(bus.wants('probe')).toBe(true);
    all.close();
    const off = bus.on(() => undefined);
    expect(bus.wants('probe')).toBe(true);
    off();
    expect(bus.wants('probe')).toBe(false);
  });
});

describe('a listener that throws', () => {
  it('is contained: the emitter and the other listeners carry on, and the failure is counted', () => {
    const bus = new EventBus();
    const seen: number[] = [];
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => {
      written.push(String(text));
      return true;
    }) as typeof process.stderr.write;
    try {
      bus.on(() => {
        throw new Error('disk full');
      });
      bus.on((event) => seen.push(event.seq));
      expect(() => bus.emit({ type: 'warning', message: 'one' })).not.toThrow();
      bus.emit({ type: 'warning', message: 'two' });
    } finally {
      process.stderr.write = write;
    }
    expect(seen).toEqual([1, 2]);
    expect(bus.listenerErrors).toBe(2);
    // Said once per listener, with what it threw.
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\[tunnelmux\] an event listener threw .*disk full/);
  });
});
