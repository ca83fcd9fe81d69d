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

  it('reads a followed connection live, keeps its last counts once it closes, and reads it no more', () => {
    const counters = new PathCounters();
    const socket = { bytesIn: 0, bytesOut: 0 };
    let reads = 0;
    const meter = counters.carry();
    meter.bytesIn(5);
    meter.follow(() => {
      reads += 1;
      return { ...socket };
    });
    socket.bytesIn = 100;
    socket.bytesOut = 7;
    expect([counters.bytesIn, counters.bytesOut]).toEqual([105, 7]);
    socket.bytesIn = 150;
    meter.close();
    const readsAtClose = reads;
    socket.bytesIn = 999;
    expect([counters.bytesIn, counters.bytesOut, counters.activeConnections]).toEqual([155, 7, 0]);
    expect(reads).toBe(readsAtClose);
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
