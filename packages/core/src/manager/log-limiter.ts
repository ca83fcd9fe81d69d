import { monotonicNow } from '../async/monotonic';

/**
 * A token bucket for one path's log lines: a tool that floods its output (100 MB/s of lines) must not become a
 * flood of events, JSON output and CPU. Up to `burst` lines pass at once and `perSecond` after that; the rest
 * are counted, and the count is said when lines pass again, at most once a second.
 */
export class LogLimiter {
  private tokens: number;
  private last: number;
  private dropped = 0;
  private reportedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly perSecond = 200,
    private readonly burst = 400,
    private readonly now: () => number = monotonicNow,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Whether this line may pass; when it may and lines were held back, `onDropped` hears how many first. */
  take(onDropped: (count: number) => void): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) {
      this.dropped += 1;
      return false;
    }
    this.tokens -= 1;
    if (this.dropped > 0 && now - this.reportedAt >= 1000) {
      this.reportedAt = now;
      const count = this.dropped;
      this.dropped = 0;
      onDropped(count);
    }
    return true;
  }
}
