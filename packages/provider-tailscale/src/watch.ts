import type { Logger } from '@tunnelmux/core/provider';
import { isDaemonDown } from './status';

/** One look at tailscale: the path is over (`end`), a passing hiccup (`blip`), or all is well (undefined). */
export type Verdict = { end: string } | { blip: string } | undefined;

// Hiccups (a slow or garbled status, a backend Starting) tolerated in a row before the path counts as gone.
export const POLL_FAILURES_ALLOWED = 3;

/**
 * Look every `intervalMs` until `look` says the path is over, or hiccups `POLL_FAILURES_ALLOWED` times in a row;
 * a look that throws is a hiccup unless tailscaled itself is gone. Resolves with the reason, or undefined once
 * `signal` aborts.
 */
export async function watchUntilGone(
  look: (signal: AbortSignal) => Promise<Verdict>,
  options: { intervalMs: number; signal: AbortSignal; log: Logger },
): Promise<string | undefined> {
  const { signal } = options;
  let failures = 0;
  while (!signal.aborted) {
    await sleep(options.intervalMs, signal);
    if (signal.aborted) return undefined;
    let verdict: Verdict;
    try {
      verdict = await look(signal);
    } catch (error) {
      if (signal.aborted) return undefined;
      const message = (error as Error).message;
      verdict = isDaemonDown(message) ? { end: message } : { blip: message };
    }
    if (verdict && 'end' in verdict) return verdict.end;
    if (!verdict) {
      failures = 0;
      continue;
    }
    failures += 1;
    if (failures >= POLL_FAILURES_ALLOWED) return verdict.blip;
    options.log.warn(`status poll ${failures}/${POLL_FAILURES_ALLOWED} failed: ${verdict.blip}`);
  }
  return undefined;
}

/** Wait `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
