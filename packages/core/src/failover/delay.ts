/** Wait `ms`, or less when `signal` aborts or `wake` is called; uses the global timers (fakeable in tests). */
export function delay(
  ms: number,
  signal?: AbortSignal,
  onWake?: (wake: () => void) => void,
): Promise<'timeout' | 'woken' | 'aborted'> {
  return new Promise((resolve) => {
    const finish = (how: 'timeout' | 'woken' | 'aborted') => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(how);
    };
    const onAbort = () => finish('aborted');
    const timer = setTimeout(() => finish('timeout'), Math.max(0, ms));
    if (signal?.aborted) return finish('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    onWake?.(() => finish('woken'));
  });
}

/**
 * A signal that aborts with `parent` or after `ms` (with `reason()`), and a `done()` that clears the timer:
 * per connection or probe this is much cheaper than AbortSignal.any + AbortSignal.timeout, whose timers linger.
 */
export function deadline(
  ms: number,
  parent?: AbortSignal,
  reason: () => Error = () => new Error(`timed out after ${ms} ms`),
): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason()), ms);
  const onAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}
