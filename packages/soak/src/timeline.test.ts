import { describe, expect, it } from 'vitest';
import { lastPart, robustSlope, slope } from './fit';
import { classify, noHealthySpans, type PathTimeline } from './timeline';

const window = { from: 0, to: 100 };

describe('noHealthySpans', () => {
  it('is empty while one path is both up for the manager and working for the plan', () => {
    const paths: PathTimeline[] = [
      { id: 'a', states: [{ time: -1, state: 'connected' }], dead: [{ from: 10, to: 20 }] },
      { id: 'b', states: [{ time: -1, state: 'connected' }], dead: [] },
    ];
    expect(noHealthySpans(paths, window)).toEqual([]);
  });

  it('finds overlaps of faults, and a path the manager has not taken back yet', () => {
    const paths: PathTimeline[] = [
      // a dies at 10-30; the manager sees it down at 12 and back up at 40.
      {
        id: 'a',
        states: [
          { time: -1, state: 'connected' },
          { time: 12, state: 'reconnecting' },
          { time: 40, state: 'connected' },
        ],
        dead: [{ from: 10, to: 30 }],
      },
      // b is dead 20-50 but the manager believes it up all along.
      { id: 'b', states: [{ time: -1, state: 'connected' }], dead: [{ from: 20, to: 50 }] },
    ];
    // 20-40: a is dead or not yet back, b is dead: none. From 40, a is up and working.
    expect(noHealthySpans(paths, window)).toEqual([{ from: 20, to: 40 }]);
  });
});

describe('classify', () => {
  const none = [{ from: 1000, to: 2000 }];
  it('by whether a span with no healthy path fell within the attempt, widened by a grace', () => {
    expect(classify({ from: 1500, to: 1600 }, none, 100)).toBe('none-healthy');
    expect(classify({ from: 800, to: 950 }, none, 100)).toBe('none-healthy');
    expect(classify({ from: 2050, to: 2060 }, none, 100)).toBe('none-healthy');
    expect(classify({ from: 500, to: 1200 }, none, 100)).toBe('none-healthy');
    expect(classify({ from: 500, to: 850 }, none, 100)).toBe('healthy');
    expect(classify({ from: 2200, to: 2300 }, none, 100)).toBe('healthy');
  });
});

describe('slope', () => {
  it('is the least-squares slope, and 0 for too few points', () => {
    expect(
      slope([
        { x: 0, y: 1 },
        { x: 1, y: 3 },
        { x: 2, y: 5 },
      ]),
    ).toBeCloseTo(2);
    expect(
      slope([
        { x: 0, y: 5 },
        { x: 1, y: 5 },
      ]),
    ).toBe(0);
    expect(slope([{ x: 0, y: 5 }])).toBe(0);
  });
  it('robustSlope ignores a spike that tilts least squares', () => {
    const flat = Array.from({ length: 60 }, (_, i) => ({ x: i, y: 100 + (i >= 40 && i < 45 ? -90 : 0) }));
    expect(robustSlope(flat)).toBe(0);
    expect(Math.abs(slope(flat))).toBeGreaterThan(0.1);
    const leak = Array.from({ length: 60 }, (_, i) => ({ x: i, y: 100 + 2 * i + (i === 30 ? 500 : 0) }));
    expect(robustSlope(leak)).toBeCloseTo(2);
  });
  it('lastPart keeps the last fraction of the x span', () => {
    const points = Array.from({ length: 10 }, (_, i) => ({ x: i * 10, y: i }));
    expect(lastPart(points, 2 / 3).map((p) => p.x)).toEqual([30, 40, 50, 60, 70, 80, 90]);
  });
});
