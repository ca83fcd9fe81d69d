import { afterEach, describe, expect, it, vi } from 'vitest';
import { slowStopReporter } from './slow-stop';

afterEach(() => {
  vi.useRealTimers();
});

describe('slowStopReporter', () => {
  it('says nothing for a stop that ends in time', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const slow = slowStopReporter(1000, (line) => lines.push(line));
    slow.stage('the services');
    vi.advanceTimersByTime(999);
    slow.done();
    vi.advanceTimersByTime(5000);
    expect(lines).toEqual([]);
  });

  it('names the stage a slow stop is stuck in, and the kinds of handle still open', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const slow = slowStopReporter(1000, (line) => lines.push(line));
    slow.stage('the metrics and dashboard servers');
    slow.stage('the services');
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[tunnelmux\] still stopping after 1 s: waiting for the services \(open: .*\)\n$/,
    );
  });
});
