/**
 * Milliseconds on a clock that never jumps: the process's start time plus the monotonic time since. Use it for
 * every interval, dwell, window and timeout; a wall clock set back or forward an hour (NTP, a VM resumed, a
 * user) must not fail a path over, expire a session or cut a drain short. Keep `Date.now()` for times shown.
 */
export function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}
