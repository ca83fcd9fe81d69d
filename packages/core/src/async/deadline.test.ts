import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deadline } from './deadline';

describe('deadline', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('aborts after ms with the given reason', async () => {
    const { signal } = deadline(500, undefined, () => new Error('no first byte'));
    await vi.advanceTimersByTimeAsync(499);
    expect(signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('no first byte');
  });

  it('follows its parent, and done() releases the timer and the parent', () => {
    const parent = new AbortController();
    const first = deadline(500, parent.signal);
    parent.abort(new Error('client gone'));
    expect((first.signal.reason as Error).message).toBe('client gone');
    first.done();
    const other = new AbortController();
    const second = deadline(500, other.signal);
    second.done();
    expect(vi.getTimerCount()).toBe(0);
    other.abort();
    expect(second.signal.aborted).toBe(false);
  });
});
