import { describe, expect, it } from 'vitest';
import { countByKind, FAULT_KINDS, faultsFor, makePlan } from './plan';

const instances = [
  { name: 'a', paths: ['a/a1', 'a/a2', 'a/a3'] },
  { name: 'b', paths: ['b/b1', 'b/b2'] },
];

describe('fault plan', () => {
  it('is a pure function of the seed: same seed, same plan; another seed, another plan', () => {
    const one = makePlan({ seed: 1234, durationMs: 30 * 60_000, instances, slowLatencyMs: 2500 });
    const again = makePlan({ seed: 1234, durationMs: 30 * 60_000, instances, slowLatencyMs: 2500 });
    const other = makePlan({ seed: 1235, durationMs: 30 * 60_000, instances, slowLatencyMs: 2500 });
    expect(again).toEqual(one);
    expect(other.steps).not.toEqual(one.steps);
  });

  it('covers every kind over 30 minutes, with an outage of every path at once at least once per instance', () => {
    const plan = makePlan({ seed: 99, durationMs: 30 * 60_000, instances, slowLatencyMs: 2500 });
    const counts = countByKind(plan.steps);
    for (const kind of FAULT_KINDS) expect(counts[kind], kind).toBeGreaterThan(0);
    for (const instance of instances) {
      const outage = plan.steps.filter((s) => s.outage && s.target.startsWith(`${instance.name}/`));
      expect(outage.length).toBeGreaterThanOrEqual(instance.paths.length);
    }
    // Nothing in the quiet start and end.
    expect(Math.min(...plan.steps.map((s) => s.at))).toBeGreaterThanOrEqual(8000);
    expect(Math.max(...plan.steps.map((s) => s.at + s.durationMs))).toBeLessThanOrEqual(30 * 60_000 - 12_000);
  });

  it('a 2-minute plan still has an outage and several faults', () => {
    const plan = makePlan({ seed: 5, durationMs: 120_000, instances, slowLatencyMs: 2500 });
    expect(plan.steps.filter((s) => s.outage).length).toBe(5);
    expect(plan.steps.filter((s) => !s.outage).length).toBeGreaterThan(5);
  });

  it('reloads are planned only for an instance that asks for them', () => {
    const plan = makePlan({
      seed: 5,
      durationMs: 10 * 60_000,
      instances: [{ name: 'a', paths: ['a/a1'], reload: true }],
      slowLatencyMs: 2500,
    });
    expect(plan.steps.some((s) => s.kind === 'reload')).toBe(true);
    const none = makePlan({ seed: 5, durationMs: 10 * 60_000, instances, slowLatencyMs: 2500 });
    expect(none.steps.some((s) => s.kind === 'reload')).toBe(false);
  });
});

describe('faultsFor', () => {
  const step = (kind: (typeof FAULT_KINDS)[number]) => ({ at: 0, durationMs: 1, kind, target: 'a/a1' });
  it('maps each kind to the fault file the forwarder follows; the worst wins, noise adds on', () => {
    expect(faultsFor([], 2500)).toEqual({});
    expect(faultsFor([step('crash')], 2500)).toEqual({ mode: 'crash' });
    expect(faultsFor([step('hang-at-start')], 2500)).toEqual({ mode: 'crash', startup: 'hang' });
    expect(faultsFor([step('slow')], 2500)).toEqual({ mode: 'slow', latencyMs: 2500 });
    expect(faultsFor([step('slow'), step('refuse')], 2500)).toEqual({ mode: 'refuse' });
    expect(faultsFor([step('flap'), step('long-lines')], 2500)).toEqual({
      mode: 'flap',
      flapMs: 700,
      noise: 'long-lines',
    });
    expect(faultsFor([step('binary-junk')], 2500)).toEqual({ noise: 'binary' });
  });
});
