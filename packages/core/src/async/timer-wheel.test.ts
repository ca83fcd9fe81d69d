import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TimerWheel } from './timer-wheel';

describe('TimerWheel', () => {
  // The wheel reads performance.now (monotonic): fake it with the timers so both advance together.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('runs many callbacks of different delays on one timer, each no earlier than asked and at most a slot late', async () => {
    const wheel = new TimerWheel(10);
    const fired: Array<[number, number]> = [];
    const start = Date.now();
    for (const ms of [1990, 50, 2005, 1000, 0, 1000])
      wheel.add(ms, () => fired.push([ms, Date.now() - start]));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(2100);
    expect(fired.map(([ms]) => ms)).toEqual([0, 50, 1000, 1000, 1990, 2005]);
    for (const [ms, at] of fired) {
      expect(at).toBeGreaterThanOrEqual(ms);
      expect(at).toBeLessThanOrEqual(ms + 10);
    }
    expect(wheel.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drops cancelled callbacks and leaves no timer once empty', async () => {
    const wheel = new TimerWheel(10);
    const fn = vi.fn();
    const a = wheel.add(100, fn);
    const b = wheel.add(50, fn);
    wheel.cancel(b);
    wheel.cancel(b);
    expect(wheel.pending).toBe(1);
    wheel.cancel(a);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(fn).not.toHaveBeenCalled();
  });

  it('keeps earlier slots armed when a callback adds a later one', async () => {
    const wheel = new TimerWheel(10);
    const order: string[] = [];
    wheel.add(10, () => {
      order.push('first');
      wheel.add(500, () => order.push('added'));
    });
    wheel.add(100, () => order.push('second'));
    await vi.advanceTimersByTimeAsync(120);
    expect(order).toEqual(['first', 'second']);
    await vi.advanceTimersByTimeAsync(500);
    expect(order).toEqual(['first', 'second', 'added']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is not held back by a wall clock set back an hour', async () => {
    const wheel = new TimerWheel(10);
    const fn = vi.fn();
    wheel.add(1000, fn);
    wheel.add(2000, fn);
    vi.setSystemTime(Date.now() - 3_600_000);
    await vi.advanceTimersByTimeAsync(2010);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(wheel.pending).toBe(0);
  });
});
