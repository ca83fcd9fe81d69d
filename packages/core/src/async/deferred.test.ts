import { describe, expect, it } from 'vitest';
import { deferred } from './deferred';

describe('deferred', () => {
  it('resolves from outside and reports that it settled; a second settle is ignored', async () => {
    const d = deferred<number>();
    expect(d.settled).toBe(false);
    d.resolve(1);
    d.reject(new Error('late'));
    expect(d.settled).toBe(true);
    await expect(d.promise).resolves.toBe(1);
  });

  it('rejects from outside', async () => {
    const d = deferred();
    d.reject(new Error('no'));
    await expect(d.promise).rejects.toThrow('no');
  });
});
