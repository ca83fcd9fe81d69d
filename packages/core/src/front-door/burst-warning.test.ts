import { afterEach, describe, expect, it, vi } from 'vitest';
import { BurstWarning } from './burst-warning';

afterEach(() => {
  vi.useRealTimers();
});

describe('BurstWarning', () => {
  it('warns once at the start of a burst and once with the count when it has been quiet for quietMs', () => {
    vi.useFakeTimers();
    const said: string[] = [];
    const burst = new BurstWarning(
      (m) => said.push(m),
      () => 'out of fds',
      (n) => `back after ${n}`,
      1000,
    );
    for (let i = 0; i < 500; i++) {
      burst.hit();
      vi.advanceTimersByTime(5);
    }
    expect(said).toEqual(['out of fds']);
    // The last hit was 5 ms ago: 994 ms more is still inside the quiet time, 1 more ends the burst.
    vi.advanceTimersByTime(994);
    expect(said).toEqual(['out of fds']);
    vi.advanceTimersByTime(1);
    expect(said).toEqual(['out of fds', 'back after 500']);
    // A second burst is said again.
    burst.hit();
    burst.end();
    expect(said).toEqual(['out of fds', 'back after 500', 'out of fds', 'back after 1']);
  });

  it('does not end a burst while ongoing() says the condition still holds, however quiet it has been', () => {
    vi.useFakeTimers();
    const said: string[] = [];
    let full = true;
    const burst = new BurstWarning(
      (m) => said.push(m),
      () => 'out of fds',
      (n) => `back after ${n}`,
      1000,
      () => full,
    );
    burst.hit();
    vi.advanceTimersByTime(1000);
    // Still full: a client retrying its SYN a second later belongs to the same burst.
    burst.hit();
    vi.advanceTimersByTime(5000);
    expect(said).toEqual(['out of fds']);
    full = false;
    // The next quiet check, at most quietMs later, ends it.
    vi.advanceTimersByTime(1000);
    expect(said).toEqual(['out of fds', 'back after 2']);
  });

  it('end() with no burst says nothing', () => {
    const said: string[] = [];
    new BurstWarning(
      (m) => said.push(m),
      () => 'x',
      () => 'y',
    ).end();
    expect(said).toEqual([]);
  });
});
