import { describe, expect, it } from 'vitest';
import { abortable } from './abortable';
import { deferred } from './deferred';

describe('abortable', () => {
  it('passes the value through when not aborted', async () => {
    await expect(abortable(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
  });

  it("rejects with the signal's reason as soon as it aborts, though the promise never settles", async () => {
    const controller = new AbortController();
    const waiting = abortable(deferred().promise, controller.signal);
    controller.abort(new Error('path stopped'));
    await expect(waiting).rejects.toThrow('path stopped');
  });

  it('rejects at once for an aborted signal', async () => {
    await expect(abortable(deferred().promise, AbortSignal.abort())).rejects.toThrow(/abort/i);
  });
});
