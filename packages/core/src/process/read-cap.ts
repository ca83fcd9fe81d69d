import type { Readable } from 'node:stream';
import { monotonicNow } from '../async/monotonic';

/** How fast tunnelmux reads a tool's log output at most: far above any sane tool, far below a flood. */
export const LOG_READ_BYTES_PER_SECOND = 4 * 1024 * 1024;

/**
 * Read `stream` at most `bytesPerSecond` (after a burst of as much): past that, pause it until the budget
 * refills, so the pipe fills and the tool waits, as it would on a slow terminal. A tool flooding its output at
 * 100 MB/s then costs a bounded amount of CPU and garbage instead of all of it. Returns a stop function.
 */
export function capReadRate(
  stream: Readable,
  bytesPerSecond = LOG_READ_BYTES_PER_SECOND,
  burstBytes = bytesPerSecond,
  now: () => number = monotonicNow,
): () => void {
  let tokens = burstBytes;
  let last = now();
  let timer: NodeJS.Timeout | undefined;
  const onData = (chunk: Buffer | string) => {
    const t = now();
    tokens = Math.min(burstBytes, tokens + ((t - last) / 1000) * bytesPerSecond);
    last = t;
    tokens -= chunk.length;
    if (tokens >= 0 || timer) return;
    stream.pause();
    timer = setTimeout(
      () => {
        timer = undefined;
        if (!stream.destroyed) stream.resume();
      },
      Math.ceil((-tokens / bytesPerSecond) * 1000),
    );
  };
  stream.on('data', onData);
  return () => {
    stream.off('data', onData);
    clearTimeout(timer);
  };
}
