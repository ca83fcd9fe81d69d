import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PrimaryCandidate, probeMayMovePrimary, selectPrimary } from './select-primary';

const path = (id: string, priority: number, extra: Partial<PrimaryCandidate> = {}): PrimaryCandidate => ({
  id,
  priority,
  order: priority,
  healthy: true,
  running: true,
  recovered: false,
  ...extra,
});
const base = { autoFailover: true, autoRecover: true, minDwellMs: 10_000, now: 100_000 };

describe('selectPrimary', () => {
  it('picks the best healthy priority at first', () => {
    expect(selectPrimary({ ...base, candidates: [path('b', 2), path('a', 1)] })).toEqual({
      primary: 'a',
      reason: 'initial',
      clearPin: false,
      betterSince: {},
    });
  });

  it('fails over to the next healthy path when the primary is down', () => {
    const out = selectPrimary({
      ...base,
      current: 'a',
      candidates: [path('a', 1, { healthy: false }), path('b', 2), path('c', 3)],
    });
    expect(out).toMatchObject({ primary: 'b', reason: 'failover' });
  });

  it('has no primary when nothing is healthy', () => {
    const out = selectPrimary({ ...base, current: 'a', candidates: [path('a', 1, { healthy: false })] });
    expect(out).toEqual({ primary: undefined, reason: 'failover', clearPin: false, betterSince: {} });
  });

  it('damps failback to a recovered path until it has dwelt', () => {
    const recovered = (upSince: number) => path('a', 1, { recovered: true, upSince });
    expect(
      selectPrimary({ ...base, current: 'b', candidates: [recovered(95_000), path('b', 2)] }).primary,
    ).toBe('b');
    expect(
      selectPrimary({ ...base, current: 'b', candidates: [recovered(90_000), path('b', 2)] }),
    ).toMatchObject({
      primary: 'a',
      reason: 'failback',
    });
    expect(
      selectPrimary({ ...base, autoRecover: false, current: 'b', candidates: [recovered(0), path('b', 2)] })
        .primary,
    ).toBe('b');
  });

  it('makes a flapping path dwell longer before failback', () => {
    const flapper = (flaps: number) => path('a', 1, { recovered: true, upSince: 85_000, flaps });
    expect(selectPrimary({ ...base, current: 'b', candidates: [flapper(1), path('b', 2)] }).primary).toBe(
      'a',
    );
    expect(selectPrimary({ ...base, current: 'b', candidates: [flapper(2), path('b', 2)] }).primary).toBe(
      'b',
    );
  });

  it('calls the loss of a stopped primary a stop, not a failover', () => {
    const out = selectPrimary({
      ...base,
      current: 'a',
      candidates: [path('a', 1, { healthy: false, running: false })],
    });
    expect(out).toEqual({ primary: undefined, reason: 'stopped', clearPin: false, betterSince: {} });
  });

  it('moves at once to a better path that comes up for the first time', () => {
    expect(
      selectPrimary({ ...base, current: 'b', candidates: [path('a', 1, { upSince: 99_999 }), path('b', 2)] })
        .primary,
    ).toBe('a');
  });

  it('holds a pin while the pinned path is healthy, and drops it when it is not', () => {
    const candidates = [path('a', 1), path('c', 3)];
    expect(selectPrimary({ ...base, current: 'a', pinned: 'c', candidates })).toMatchObject({
      primary: 'c',
      reason: 'manual',
    });
    const down = [path('a', 1), path('c', 3, { healthy: false })];
    expect(selectPrimary({ ...base, current: 'c', pinned: 'c', candidates: down })).toEqual({
      primary: 'a',
      reason: 'failover',
      clearPin: true,
      betterSince: {},
    });
  });

  it('keeps a down primary in manual mode while it is still supervised', () => {
    const candidates = [path('a', 1, { healthy: false }), path('b', 2)];
    expect(selectPrimary({ ...base, autoFailover: false, current: 'a', candidates }).primary).toBe('a');
  });

  it('breaks priority ties by start order', () => {
    const out = selectPrimary({
      ...base,
      candidates: [path('x', 1, { order: 2 }), path('y', 1, { order: 1 })],
    });
    expect(out.primary).toBe('y');
  });
  // Reasons and pins, pinned down by mutation testing (docs/mutation.md).
  it('says "stopped" when the primary was stopped, with or without a path to move to', () => {
    const stopped = path('a', 1, { healthy: false, running: false });
    expect(selectPrimary({ ...base, current: 'a', candidates: [stopped, path('b', 2)] })).toEqual({
      primary: 'b',
      reason: 'stopped',
      clearPin: false,
      betterSince: {},
    });
    expect(selectPrimary({ ...base, current: 'a', candidates: [stopped] })).toEqual({
      primary: undefined,
      reason: 'stopped',
      clearPin: false,
      betterSince: {},
    });
  });

  it('clears a pin whose path went down and calls the move a failover', () => {
    const down = path('a', 1, { healthy: false });
    expect(selectPrimary({ ...base, current: 'a', pinned: 'a', candidates: [down, path('b', 2)] })).toEqual({
      primary: 'b',
      reason: 'failover',
      clearPin: true,
      betterSince: {},
    });
    // A pin on another path than the primary: cleared, and the primary stays.
    expect(selectPrimary({ ...base, current: 'b', pinned: 'a', candidates: [down, path('b', 2)] })).toEqual({
      primary: 'b',
      clearPin: true,
      betterSince: {},
    });
    // The pin holds while its path is healthy; no change reported when it is already primary.
    expect(
      selectPrimary({ ...base, current: 'b', pinned: 'b', candidates: [path('a', 1), path('b', 2)] }),
    ).toEqual({
      primary: 'b',
      clearPin: false,
      betterSince: {},
    });
  });

  it('in manual mode keeps a supervised primary that is down, and leaves one that was stopped', () => {
    const manual = { ...base, autoFailover: false };
    expect(
      selectPrimary({
        ...manual,
        current: 'a',
        candidates: [path('a', 1, { healthy: false }), path('b', 2)],
      }),
    ).toEqual({ primary: 'a', clearPin: false, betterSince: {} });
    expect(
      selectPrimary({
        ...manual,
        current: 'a',
        candidates: [path('a', 2, { healthy: false, running: false }), path('b', 1)],
      }),
    ).toEqual({ primary: 'b', reason: 'stopped', clearPin: false, betterSince: {} });
  });

  it('moves at once to a better path that was never down, calling it initial', () => {
    expect(selectPrimary({ ...base, current: 'b', candidates: [path('a', 1), path('b', 2)] })).toEqual({
      primary: 'a',
      reason: 'initial',
      clearPin: false,
      betterSince: {},
    });
  });

  it('never fails back to a recovered path that has no up time yet', () => {
    expect(
      selectPrimary({ ...base, current: 'b', candidates: [path('a', 1, { recovered: true }), path('b', 2)] }),
    ).toEqual({ primary: 'b', clearPin: false, betterSince: {} });
  });
  it('copes with ids that name no candidate, and with nothing healthy at the start', () => {
    // A pin or a primary whose path is gone from the list.
    expect(selectPrimary({ ...base, pinned: 'gone', candidates: [path('a', 1)] })).toEqual({
      primary: 'a',
      reason: 'initial',
      clearPin: true,
      betterSince: {},
    });
    expect(selectPrimary({ ...base, current: 'gone', candidates: [path('a', 1)] })).toEqual({
      primary: 'a',
      reason: 'failover',
      clearPin: false,
      betterSince: {},
    });
    expect(selectPrimary({ ...base, current: 'gone', candidates: [] })).toEqual({
      primary: undefined,
      reason: 'failover',
      clearPin: false,
      betterSince: {},
    });
    // No primary before and none now: nothing changed, so no reason.
    expect(selectPrimary({ ...base, candidates: [path('a', 1, { healthy: false })] })).toEqual({
      primary: undefined,
      clearPin: false,
      betterSince: {},
    });
    expect(selectPrimary({ ...base, autoFailover: false, candidates: [path('a', 1)] })).toEqual({
      primary: 'a',
      reason: 'initial',
      clearPin: false,
      betterSince: {},
    });
  });

  it('calls leaving a pinned primary that was stopped a failover, as the pin no longer holds', () => {
    const stopped = path('a', 1, { healthy: false, running: false });
    expect(
      selectPrimary({ ...base, current: 'a', pinned: 'a', candidates: [stopped, path('b', 2)] }),
    ).toEqual({
      primary: 'b',
      reason: 'failover',
      clearPin: true,
      betterSince: {},
    });
  });
});

describe('probeMayMovePrimary', () => {
  const damping = { marginMs: 5, marginPercent: 20, dwellMs: 10_000 };
  const ask = (
    probed: PrimaryCandidate,
    primary: PrimaryCandidate | undefined,
    extra: {
      pinHolds?: boolean;
      strategy?: 'priority' | 'latency';
      betterSince?: Record<string, number>;
    } = {},
  ) =>
    probeMayMovePrimary({
      probed,
      primary,
      pinHolds: extra.pinHolds ?? false,
      strategy: extra.strategy,
      latency: damping,
      betterSince: extra.betterSince ?? {},
    });

  it('re-runs the selection while there is no healthy primary', () => {
    expect(ask(path('b', 2), undefined)).toBe(true);
    expect(ask(path('b', 2), path('a', 1, { healthy: false }))).toBe(true);
  });

  it('skips it while a pin holds a healthy primary', () => {
    expect(ask(path('a', 1, { recovered: true }), path('b', 2), { pinHolds: true })).toBe(false);
  });

  it('under strict priority, re-runs it only for a path preferred over the primary', () => {
    expect(ask(path('a', 1, { recovered: true }), path('b', 2))).toBe(true);
    expect(ask(path('c', 3, { recovered: true }), path('b', 2))).toBe(false);
    expect(ask(path('b', 2), path('b', 2))).toBe(false);
    // Same priority: the earlier start is preferred.
    expect(ask(path('x', 2, { order: 1 }), path('b', 2, { order: 5 }))).toBe(true);
    expect(ask(path('x', 2, { order: 9 }), path('b', 2, { order: 5 }))).toBe(false);
  });

  it('under the latency strategy, re-runs it for the primary, a path beating it, or one whose clock runs', () => {
    const primary = path('b', 2, { latencyMs: 50 });
    const latency = { strategy: 'latency' as const };
    expect(ask(primary, primary, latency)).toBe(true);
    expect(ask(path('a', 1, { latencyMs: 30 }), primary, latency)).toBe(true);
    // Faster, but not by both margins (5 ms and 20 %).
    expect(ask(path('a', 1, { latencyMs: 45 }), primary, latency)).toBe(false);
    expect(ask(path('c', 3, { latencyMs: 80 }), primary, latency)).toBe(false);
    expect(ask(path('c', 3, { latencyMs: 80 }), primary, { ...latency, betterSince: { c: 1 } })).toBe(true);
  });

  it('lets the probe of the path that would take over re-run the selection (property)', () => {
    // From a settled selection, let time pass: whenever selectPrimary would now move the primary, the probe of
    // the path it moves to must not be skipped, or the move would wait for ever.
    let moves = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            priority: fc.integer({ min: 1, max: 4 }),
            latencyMs: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
            recovered: fc.boolean(),
            upSince: fc.integer({ min: 60_000, max: 100_000 }),
            flaps: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 2, maxLength: 6 },
        ),
        fc.nat(),
        fc.constantFrom('priority' as const, 'latency' as const),
        fc.integer({ min: 0, max: 60_000 }),
        (rows, currentAt, strategy, elapsed) => {
          const candidates = rows.map((row, i) => path(`p${i}`, row.priority, { ...row, order: i }));
          const select = (now: number, current: string | undefined, betterSince = {}) =>
            selectPrimary({ ...base, now, strategy, latency: damping, candidates, current, betterSince });
          const first = select(base.now, candidates[currentAt % candidates.length]!.id);
          const steady = select(base.now, first.primary, first.betterSince);
          fc.pre(steady.primary === first.primary);
          const later = select(base.now + elapsed, steady.primary, steady.betterSince);
          if (later.primary === steady.primary) return;
          moves += 1;
          const byId = (id: string | undefined) => candidates.find((candidate) => candidate.id === id);
          expect(
            probeMayMovePrimary({
              probed: byId(later.primary)!,
              primary: byId(steady.primary),
              pinHolds: false,
              strategy,
              latency: damping,
              betterSince: steady.betterSince,
            }),
          ).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
    expect(moves).toBeGreaterThan(0);
  });
});
