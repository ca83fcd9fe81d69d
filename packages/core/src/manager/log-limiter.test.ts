import { describe, expect, it } from 'vitest';
import { LogLimiter } from './log-limiter';

describe('LogLimiter', () => {
  it('passes a burst, then perSecond, counts the rest and says the count once lines pass again', () => {
    let now = 0;
    const limiter = new LogLimiter(10, 20, () => now);
    const said: number[] = [];
    let passed = 0;
    for (let i = 0; i < 1000; i++) if (limiter.take((n) => said.push(n))) passed++;
    expect(passed).toBe(20);
    expect(said).toEqual([]);
    now += 1000;
    for (let i = 0; i < 1000; i++) if (limiter.take((n) => said.push(n))) passed++;
    expect(passed).toBe(30);
    expect(said).toEqual([980]);
    // Under a steady flood, the count is said at most once a second.
    for (let ms = 0; ms < 3000; ms += 10) {
      now += 10;
      for (let i = 0; i < 100; i++) limiter.take((n) => said.push(n));
    }
    expect(said.length).toBeLessThanOrEqual(1 + 3);
    expect(said.reduce((a, b) => a + b, 0)).toBeGreaterThan(20_000);
  });

  it('never holds back a quiet tool', () => {
    let now = 0;
    const limiter = new LogLimiter(10, 20, () => now);
    for (let i = 0; i < 100; i++) {
      expect(limiter.take(() => undefined)).toBe(true);
      now += 100;
    }
  });
});
