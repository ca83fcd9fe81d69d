import { describe, expect, it } from 'vitest';
import { deferred } from '../async/deferred';
import { SerialQueue } from './serial-queue';

describe('SerialQueue', () => {
  it('runs one operation at a time in call order, and a failure does not stop the next', async () => {
    const queue = new SerialQueue();
    const order: string[] = [];
    const gate = deferred();
    const first = queue.run(async () => {
      order.push('first starts');
      await gate.promise;
      order.push('first ends');
      throw new Error('first failed');
    });
    const second = queue.run(async () => {
      order.push('second');
      return 2;
    });
    await Promise.resolve();
    expect(order).toEqual(['first starts']);
    gate.resolve();
    await expect(first).rejects.toThrow('first failed');
    await expect(second).resolves.toBe(2);
    await queue.idle();
    expect(order).toEqual(['first starts', 'first ends', 'second']);
  });
});
