import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff';

const settings = { initialMs: 500, maxMs: 30_000, stableAfterMs: 60_000 };

describe('Backoff', () => {
  it('doubles the ceiling per attempt up to the maximum, with full jitter', () => {
    const backoff = new Backoff(settings, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(() => backoff.next())).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
    const jittered = new Backoff(settings, () => 0.25);
    expect(jittered.next()).toBe(125);
  });

  it('makes repeat offenders wait longer, and forgives a stable path', () => {
    // An epoch-sized clock, as Date.now() gives: a run's length is a difference, never a sum.
    let now = 1_700_000_000_000;
    const backoff = new Backoff(
      settings,
      () => 1,
      () => now,
    );
    backoff.up();
    now += 1000;
    backoff.down();
    expect(backoff.flapCount).toBe(1);
    expect(backoff.next()).toBe(1000);
    backoff.up();
    now += 1000;
    backoff.down();
    expect(backoff.next()).toBe(4000);
    backoff.up();
    now += 60_000;
    backoff.down();
    expect(backoff.flapCount).toBe(0);
    expect(backoff.next()).toBe(500);
  });
});
