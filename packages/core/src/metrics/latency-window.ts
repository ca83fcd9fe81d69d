/** The last `size` latency samples, with percentiles over them. */
export class LatencyWindow {
  private readonly samples: number[] = [];
  /** recentMedian's last answer, until the next sample: the selection reads it for every path, often. */
  private memo?: { n: number; median: number | undefined };
  /** Every sample ever added, and their sum: a summary's `_count` and `_sum`. */
  total = 0;
  sumMs = 0;

  constructor(private readonly size = 100) {}

  add(ms: number): void {
    this.total += 1;
    this.sumMs += ms;
    this.samples.push(ms);
    if (this.samples.length > this.size) this.samples.shift();
    this.memo = undefined;
  }

  get last(): number | undefined {
    return this.samples.at(-1);
  }

  get count(): number {
    return this.samples.length;
  }

  /** Nearest-rank percentile, `p` in 0..100; undefined with no samples. */
  percentile(p: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const rank = Math.ceil((p / 100) * sorted.length);
    return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
  }

  /** The median of the newest `n` samples; undefined with no samples. */
  recentMedian(n: number): number | undefined {
    if (this.memo?.n === n) return this.memo.median;
    const sorted = this.samples.slice(-n).sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median =
      sorted.length === 0
        ? undefined
        : sorted.length % 2 === 1
          ? sorted[mid]
          : (sorted[mid - 1]! + sorted[mid]!) / 2;
    this.memo = { n, median };
    return median;
  }

  /** The newest samples, oldest first (for sparklines). */
  recent(n = this.size): number[] {
    return this.samples.slice(-n);
  }
}
