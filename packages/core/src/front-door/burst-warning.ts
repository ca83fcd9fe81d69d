/**
 * Says a recurring condition once per burst instead of once per occurrence: the first hit warns, later hits
 * are counted, and once `quietMs` pass without a hit the burst ends with one line giving the count. While
 * `ongoing()` says the condition still holds, the quiet time starts over: clients whose SYN the kernel dropped
 * retry one second later, and would otherwise open a second burst.
 */
export class BurstWarning {
  private count = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly warn: (message: string) => void,
    private readonly first: () => string,
    private readonly last: (count: number) => string,
    private readonly quietMs = 1000,
    private readonly ongoing: () => boolean = () => false,
  ) {}

  hit(): void {
    if (this.count === 0) this.warn(this.first());
    this.count += 1;
    this.quiet();
  }

  private quiet(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.ongoing() ? this.quiet() : this.end()), this.quietMs);
    this.timer.unref();
  }

  /** End the current burst now (e.g. on close). */
  end(): void {
    clearTimeout(this.timer);
    if (this.count > 0) this.warn(this.last(this.count));
    this.count = 0;
  }
}
