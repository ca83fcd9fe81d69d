import { describe, expect, it } from 'vitest';
import { DescriptorBudget, type DescriptorSource, procDescriptors } from './descriptor-budget';

/** A source whose limit and count the test sets, counting how often the count is listed. */
function source(limit: number | undefined, open: number | undefined) {
  const state = { limit, open, listed: 0 };
  const descriptors: DescriptorSource = {
    softLimit: () => state.limit,
    openCount: () => {
      state.listed += 1;
      return state.open;
    },
  };
  return { state, descriptors };
}

describe('DescriptorBudget', () => {
  it('leaves two descriptors per connection and the reserve, beside what the rest of the process holds', () => {
    const { descriptors } = source(256, 40);
    // (256 - 40 held by the rest - 16 reserve) / 2 per connection
    expect(new DescriptorBudget(descriptors).cap(0)).toBe(100);
    // 30 connections hold 60 of the 100 open: the rest still holds 40.
    const { descriptors: busy } = source(256, 100);
    expect(new DescriptorBudget(busy).cap(30)).toBe(100);
  });

  it('follows a limit lowered while running, and never says less than one', () => {
    const { state, descriptors } = source(20_000, 40);
    const budget = new DescriptorBudget(descriptors);
    expect(budget.cap(0)).toBe(9972);
    state.limit = 256;
    expect(budget.cap(0)).toBe(100);
    state.limit = 10;
    expect(budget.cap(0)).toBe(1);
  });

  it('lists descriptors near the limit or after relistMs, not on every call', () => {
    let now = 0;
    const { state, descriptors } = source(20_000, 40);
    const budget = new DescriptorBudget(descriptors, 2, 16, 5000, () => now);
    budget.cap(0);
    budget.cap(10);
    expect(state.listed).toBe(1);
    now = 5000;
    state.open = 60;
    expect(budget.cap(0)).toBe(9962);
    expect(state.listed).toBe(2);
    // Near the limit (half of it in use), every call lists.
    budget.cap(5000);
    budget.cap(5001);
    expect(state.listed).toBe(4);
  });

  it('has no cap where the limit cannot be read, and keeps its last count where the count cannot', () => {
    expect(new DescriptorBudget(source(undefined, 40).descriptors).cap(0)).toBeUndefined();
    expect(new DescriptorBudget(source(256, undefined).descriptors).cap(0)).toBe(120);
  });

  it.runIf(process.platform === 'linux')('reads this process from /proc', () => {
    expect(procDescriptors.softLimit()).toBeGreaterThan(0);
    expect(procDescriptors.openCount()).toBeGreaterThan(2);
  });
});
