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

  it('says what the stage still waits for, asking only once the stop is slow', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    let asked = 0;
    const slow = slowStopReporter(1000, (line) => lines.push(line));
    slow.stage('the services', () => {
      asked += 1;
      return [
        'ssh: front door 127.0.0.1:2222 with 1 connection(s) open',
        'db: path(s) a (connected) stopping',
      ];
    });
    vi.advanceTimersByTime(999);
    expect(asked).toBe(0);
    vi.advanceTimersByTime(1);
    expect(lines[0]).toMatch(
      /^\[tunnelmux\] still stopping after 1 s: waiting for the services \(ssh: front door 127\.0\.0\.1:2222 with 1 connection\(s\) open; db: path\(s\) a \(connected\) stopping\) \(open: .*\)\n$/,
    );
  });
});
