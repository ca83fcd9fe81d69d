/** A signal bounded in time, and the way to release its timer. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Clear the timer and stop following the parent; call once the guarded work is over. */
  done(): void;
}

/**
 * A signal that aborts with `parent` or after `ms` (with `reason()`), and a `done()` that clears the timer:
 * per connection or probe this is much cheaper than AbortSignal.any + AbortSignal.timeout, whose timers linger.
 */
export function deadline(
  ms: number,
  parent?: AbortSignal,
  reason: () => Error = () => new Error(`timed out after ${ms} ms`),
): Deadline {
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
