/** The last `size` latency samples, with percentiles over them. */
export class LatencyWindow {
  private readonly samples: number[] = [];

  constructor(private readonly size = 100) {}

  add(ms: number): void {
    this.samples.push(ms);
    if (this.samples.length > this.size) this.samples.shift();
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

  /** The newest samples, oldest first (for sparklines). */
  recent(n = this.size): number[] {
    return this.samples.slice(-n);
  }
}
