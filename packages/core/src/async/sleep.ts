/** How a `sleep` ended. */
export type SleepOutcome = 'timeout' | 'woken' | 'aborted';

/**
 * Wait `ms`, or less when `signal` aborts or `wake` is called; never rejects. Uses the global timers (fakeable in
 * tests) and leaves no timer or listener behind.
 */
export function sleep(
  ms: number,
  signal?: AbortSignal,
  onWake?: (wake: () => void) => void,
): Promise<SleepOutcome> {
  return new Promise((resolve) => {
    const finish = (how: SleepOutcome) => {
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
