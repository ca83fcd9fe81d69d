import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineList, type DeadlineNode } from './deadline-list';

function node(fired: string[], name: string): DeadlineNode {
  return {
    deadlineAt: 0,
    linkPrev: undefined,
    linkNext: undefined,
    onDeadline: () => fired.push(name),
  };
}

describe('DeadlineList', () => {
  let clock = 0;
  beforeEach(() => {
    clock = 0;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => vi.useRealTimers());
  const advance = async (ms: number) => {
    clock += ms;
    await vi.advanceTimersByTimeAsync(ms);
  };

  it('fires each deadline once it has passed, never before, and not one that was removed', async () => {
    const list = new DeadlineList(() => clock);
    const fired: string[] = [];
    const [a, b, c] = [node(fired, 'a'), node(fired, 'b'), node(fired, 'c')];
    list.add(a, 100);
    list.add(b, 50);
    list.add(c, 200);
    list.remove(c);
    await advance(49);
    expect(fired).toEqual([]);
    await advance(3);
    expect(fired).toEqual(['b']);
    await advance(47);
    expect(fired).toEqual(['b']);
    await advance(5);
    expect(fired).toEqual(['b', 'a']);
    await advance(500);
    expect(fired).toEqual(['b', 'a']);
    expect(list.size).toBe(0);
  });

  it('moves a node to its new deadline when added again, and keeps the others linked when one leaves', async () => {
    const list = new DeadlineList(() => clock);
    const fired: string[] = [];
    const [a, b, c] = [node(fired, 'a'), node(fired, 'b'), node(fired, 'c')];
    list.add(a, 10);
    list.add(b, 20);
    list.add(c, 30);
    // Re-armed from the dial's limit to the first byte's, as a connect does.
    list.add(a, 100);
    list.remove(b);
    list.remove(b);
    await advance(40);
    expect(fired).toEqual(['c']);
    await advance(70);
    expect(fired).toEqual(['c', 'a']);
  });

  it('lets a callback add and remove other nodes while the due ones fire', async () => {
    const list = new DeadlineList(() => clock);
    const fired: string[] = [];
    const later = node(fired, 'later');
    const cut = node(fired, 'cut');
    const first: DeadlineNode = {
      ...node(fired, 'first'),
      onDeadline() {
        fired.push('first');
        list.remove(cut);
        list.add(later, 10);
      },
    };
    list.add(first, 10);
    list.add(cut, 15);
    await advance(11);
    expect(fired).toEqual(['first']);
    await advance(20);
    expect(fired).toEqual(['first', 'later']);
  });
});

describe('DeadlineList timer', () => {
  afterEach(() => vi.restoreAllMocks());

  it('never keeps the process alive by itself', () => {
    const list = new DeadlineList();
    const armed = vi.spyOn(globalThis, 'setTimeout');
    const waiting = node([], 'a');
    list.add(waiting, 60_000);
    const timer = armed.mock.results.at(-1)?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    list.remove(waiting);
    clearTimeout(timer);
  });
});
