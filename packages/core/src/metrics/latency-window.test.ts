import { describe, expect, it } from 'vitest';
import { LatencyWindow } from './latency-window';

describe('LatencyWindow.recentMedian', () => {
  it('follows every new sample, though it keeps its last answer between them', () => {
    const window = new LatencyWindow(10);
    expect(window.recentMedian(5)).toBeUndefined();
    window.add(10);
    expect(window.recentMedian(5)).toBe(10);
    window.add(30);
    expect(window.recentMedian(5)).toBe(20);
    window.add(20);
    expect(window.recentMedian(5)).toBe(20);
    for (const ms of [100, 100, 100]) window.add(ms);
    // The newest five: 30, 20, 100, 100, 100.
    expect(window.recentMedian(5)).toBe(100);
    // Another window size is not answered from the last one.
    expect(window.recentMedian(2)).toBe(100);
    expect(window.recentMedian(6)).toBe(65);
    expect(window.recentMedian(5)).toBe(100);
  });
});
