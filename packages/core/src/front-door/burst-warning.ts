/**
 * Says a recurring condition once per burst instead of once per occurrence: the first hit warns, later hits
 * are counted, and once `quietMs` pass without a hit the burst ends with one line giving the count.
 */
export class BurstWarning {
  private count = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly warn: (message: string) => void,
    private readonly first: () => string,
    private readonly last: (count: number) => string,
    private readonly quietMs = 1000,
  ) {}

  hit(): void {
    if (this.count === 0) this.warn(this.first());
    this.count += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.end(), this.quietMs);
    this.timer.unref();
  }

  /** End the current burst now (e.g. on close). */
  end(): void {
    clearTimeout(this.timer);
    if (this.count > 0) this.warn(this.last(this.count));
    this.count = 0;
  }
}
