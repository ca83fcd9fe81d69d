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
