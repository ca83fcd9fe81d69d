import { describe, expect, it } from 'vitest';
import { PathCounters } from './path-counters';

describe('PathCounters', () => {
  it('counts a carried connection, its bytes, and its end exactly once', () => {
    const counters = new PathCounters();
    const meter = counters.carry();
    counters.carry();
    meter.bytesIn(10);
    meter.bytesOut(3);
    meter.close();
    meter.close();
    expect(counters).toMatchObject({ activeConnections: 1, totalConnections: 2, bytesIn: 10, bytesOut: 3 });
    expect(counters.lastActive).toEqual(expect.any(Number));
  });
});
