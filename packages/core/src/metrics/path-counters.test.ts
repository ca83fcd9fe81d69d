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

describe('PathCounters.whenIdle', () => {
  it('waits for carried connections and for dials still under way, and cuts what is carried', async () => {
    const counters = new PathCounters();
    let cut = 0;
    const meter = counters.carry(() => {
      cut += 1;
    });
    const release = counters.dialStarted();
    let idle = false;
    const waiting = counters.whenIdle().then(() => {
      idle = true;
    });
    meter.close();
    await Promise.resolve();
    expect(idle).toBe(false);
    release();
    release();
    await waiting;
    expect(idle).toBe(true);
    counters.carry(() => {
      cut += 1;
    });
    expect(counters.cutAll()).toBe(1);
    expect(cut).toBe(1);
  });
});
