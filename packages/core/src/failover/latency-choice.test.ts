import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { beatsByMargin } from './latency-choice';
import { type PrimaryCandidate, type SelectInput, selectPrimary } from './select-primary';

const damping = { marginMs: 5, marginPercent: 20, dwellMs: 10_000 };
const path = (
  id: string,
  priority: number,
  latencyMs: number | undefined,
  extra: Partial<PrimaryCandidate> = {},
) => ({
  id,
  priority,
  order: priority,
  healthy: true,
  running: true,
  recovered: false,
  upSince: 0,
  latencyMs,
  ...extra,
});
const base = {
  autoFailover: true,
  autoRecover: true,
  minDwellMs: 10_000,
  strategy: 'latency' as const,
  latency: damping,
};

/** Run the selection at each tick of a fake clock, carrying its state along like the manager does. */
function run(
  ticks: ReadonlyArray<{ now: number; candidates: PrimaryCandidate[] }>,
  start: { current?: string; pinned?: string; autoFailover?: boolean } = {},
) {
  let current = start.current;
  let betterSince: SelectInput['betterSince'] = {};
  const changes: Array<{ now: number; to?: string; reason?: string }> = [];
  for (const tick of ticks) {
    const out = selectPrimary({
      ...base,
      autoFailover: start.autoFailover ?? true,
      pinned: start.pinned,
      current,
      betterSince,
      ...tick,
    });
    betterSince = out.betterSince;
    if (out.reason !== undefined) changes.push({ now: tick.now, to: out.primary, reason: out.reason });
    current = out.primary;
  }
  return { current, changes };
}

describe('the latency strategy', () => {
  it('starts on the fastest healthy path, whatever the priorities say', () => {
    const out = selectPrimary({
      ...base,
      now: 0,
      candidates: [path('a', 0, 80), path('b', 1, 40), path('c', 2, 5)],
    });
    expect(out).toMatchObject({ primary: 'c', reason: 'initial' });
  });

  it('moves once, after a faster path has beaten the primary by both margins for the whole dwell', () => {
    const slowA = [path('a', 0, 80), path('b', 1, 40), path('c', 2, 5)];
    const ticks = Array.from({ length: 31 }, (_, i) => ({ now: 1000 * i, candidates: slowA }));
    const { changes } = run(ticks, { current: 'a' });
    // c is the fastest that beats a; its clock starts at t=0, so it moves at t=10s and never again.
    expect(changes).toEqual([{ now: 10_000, to: 'c', reason: 'latency' }]);
  });

  it('restarts the dwell when the challenger stops beating the primary for one evaluation', () => {
    const faster = [path('a', 0, 80), path('c', 2, 5)];
    const close = [path('a', 0, 80), path('c', 2, 75)];
    const ticks = [
      ...[0, 2000, 4000, 6000, 8000].map((now) => ({ now, candidates: faster })),
      { now: 9000, candidates: close },
      ...[10_000, 12_000, 14_000, 16_000, 18_000, 19_999].map((now) => ({ now, candidates: faster })),
      { now: 20_000, candidates: faster },
    ];
    expect(run(ticks, { current: 'a' }).changes).toEqual([{ now: 20_000, to: 'c', reason: 'latency' }]);
  });

  it('does not stop over at a slower path that dwelt first: when latencies swap, traffic moves once', () => {
    // c gets slow first (b starts to beat it), a gets fast a little later: b has dwelt before a, but a is faster.
    const ticks = [
      { now: 0, candidates: [path('a', 0, 80), path('b', 1, 40), path('c', 2, 80)] },
      { now: 4000, candidates: [path('a', 0, 5), path('b', 1, 40), path('c', 2, 80)] },
      ...[8000, 10_000, 12_000, 13_999, 14_000, 16_000, 20_000].map((now) => ({
        now,
        candidates: [path('a', 0, 5), path('b', 1, 40), path('c', 2, 80)],
      })),
    ];
    expect(run(ticks, { current: 'c' }).changes).toEqual([{ now: 14_000, to: 'a', reason: 'latency' }]);
  });

  it('never moves while the gain is under either margin', () => {
    // 10 ms faster but only 10 % (percent margin fails); 19 % of a 20 ms path is < 5 ms (ms margin fails).
    const underPercent = [path('a', 0, 100), path('b', 1, 90)];
    const underMs = [path('a', 0, 20), path('b', 1, 16)];
    for (const candidates of [underPercent, underMs]) {
      const ticks = Array.from({ length: 40 }, (_, i) => ({ now: 1000 * i, candidates }));
      expect(run(ticks, { current: 'a' }).changes).toEqual([]);
    }
  });

  it('fails over at once (no dwell) when the primary goes down, to the fastest healthy path', () => {
    const out = selectPrimary({
      ...base,
      now: 5,
      current: 'a',
      candidates: [path('a', 0, 5, { healthy: false }), path('b', 1, 80), path('c', 2, 40)],
      betterSince: {},
    });
    expect(out).toMatchObject({ primary: 'c', reason: 'failover' });
  });

  it('keeps a pinned path however slow it is, and holds still in manual mode', () => {
    const candidates = [path('a', 0, 300), path('b', 1, 5)];
    const ticks = Array.from({ length: 30 }, (_, i) => ({ now: 1000 * i, candidates }));
    expect(run(ticks, { current: 'a', pinned: 'a' }).current).toBe('a');
    expect(run(ticks, { current: 'a', autoFailover: false }).changes).toEqual([]);
  });

  it('leaves a path with no measurement last, and prefers the measured one', () => {
    const out = selectPrimary({ ...base, now: 0, candidates: [path('a', 0, undefined), path('b', 1, 50)] });
    expect(out.primary).toBe('b');
  });

  it('the priority strategy ignores latency entirely', () => {
    const candidates = [path('a', 0, 300), path('b', 1, 5)];
    const out = selectPrimary({ ...base, strategy: 'priority', now: 60_000, current: 'a', candidates });
    expect(out).toEqual({ primary: 'a', clearPin: false, betterSince: {} });
  });
});

describe('latency strategy properties', () => {
  const latency = fc.integer({ min: 1, max: 500 });
  const series = fc.array(fc.tuple(latency, latency, latency), { minLength: 1, maxLength: 60 });
  const step = fc.integer({ min: 1, max: 5000 });

  it('every move is to a path that beat the old primary by both margins at every evaluation of the last dwell', () => {
    fc.assert(
      fc.property(series, step, (rows, every) => {
        let current: string | undefined = 'a';
        let betterSince: SelectInput['betterSince'] = {};
        const history: Array<{ now: number; candidates: PrimaryCandidate[]; current: string }> = [];
        rows.forEach(([la, lb, lc], i) => {
          const now = i * every;
          const candidates = [path('a', 0, la), path('b', 1, lb), path('c', 2, lc)];
          const out = selectPrimary({ ...base, now, current, betterSince, candidates });
          betterSince = out.betterSince;
          if (out.reason !== undefined) {
            expect(out.reason).toBe('latency');
            const from = current!;
            const to = out.primary!;
            // Every evaluation since the primary was `from`, within the dwell window, saw `to` beat `from`.
            const window = history.filter((h) => h.current === from && h.now >= now - damping.dwellMs);
            for (const h of [...window, { now, candidates, current: from }]) {
              const byId = new Map(h.candidates.map((c) => [c.id, c]));
              expect(beatsByMargin(byId.get(to)!, byId.get(from)!, damping)).toBe(true);
            }
            // It is the fastest of the paths that beat `from`.
            const beating = candidates.filter((c) =>
              beatsByMargin(c, candidates.find((x) => x.id === from)!, damping),
            );
            expect(Math.min(...beating.map((c) => c.latencyMs!))).toBe(
              candidates.find((c) => c.id === to)!.latencyMs,
            );
            // …and the beating started at least a dwell ago while `from` was primary.
            expect(history.some((h) => h.current === from && h.now <= now - damping.dwellMs)).toBe(true);
          }
          history.push({ now, candidates, current: current! });
          current = out.primary;
        });
      }),
    );
  });

  it('with latencies inside the margin of each other, the primary never moves', () => {
    const near = fc.integer({ min: 100, max: 120 });
    fc.assert(
      fc.property(fc.array(fc.tuple(near, near), { minLength: 1, maxLength: 80 }), step, (rows, every) => {
        const ticks = rows.map(([la, lb], i) => ({
          now: i * every,
          candidates: [path('a', 0, la), path('b', 1, lb)],
        }));
        expect(run(ticks, { current: 'a' }).changes).toEqual([]);
      }),
    );
  });

  it('a primary that is the fastest is never left', () => {
    fc.assert(
      fc.property(series, step, (rows, every) => {
        const ticks = rows.map(([la, lb, lc], i) => ({
          now: i * every,
          candidates: [path('a', 0, Math.min(la, lb, lc)), path('b', 1, lb), path('c', 2, lc)],
        }));
        expect(run(ticks, { current: 'a' }).changes).toEqual([]);
      }),
    );
  });
});
