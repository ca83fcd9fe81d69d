import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sleep } from './sleep';

describe('sleep', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('ends on time and leaves no timer', async () => {
    const done = sleep(1000);
    await vi.advanceTimersByTimeAsync(999);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toBe('timeout');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ends early on abort or wake, clearing its timer', async () => {
    const controller = new AbortController();
    const aborted = sleep(60_000, controller.signal);
    controller.abort();
    await expect(aborted).resolves.toBe('aborted');
    let wake!: () => void;
    const woken = sleep(60_000, undefined, (w) => {
      wake = w;
    });
    wake();
    await expect(woken).resolves.toBe('woken');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('returns at once for an already aborted signal', async () => {
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBe('aborted');
    expect(vi.getTimerCount()).toBe(0);
  });
});
