import { describe, expect, it } from 'vitest';
import { createPeerPenalty } from './peer-penalty';

describe('peer penalty', () => {
  it('doubles the delay per failure, caps it, and forgets a quiet peer', () => {
    const penalty = createPeerPenalty({ baseMs: 100, maxMs: 1000, forgetMs: 60_000 });
    expect(penalty.delayFor('p', 0)).toBe(0);
    expect(penalty.fail('p', 0)).toEqual({ failures: 1, delayMs: 100 });
    expect(penalty.fail('p', 1)).toEqual({ failures: 2, delayMs: 200 });
    for (let i = 0; i < 10; i++) penalty.fail('p', 2);
    expect(penalty.delayFor('p', 3)).toBe(1000);
    expect(penalty.delayFor('other', 3)).toBe(0);
    expect(penalty.delayFor('p', 70_000)).toBe(0);
  });
});
