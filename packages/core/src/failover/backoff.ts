export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  /** A run this long counts as stable: attempts and flaps reset. */
  stableAfterMs: number;
}

/**
 * Exponential backoff with full jitter (delay = random × min(max, initial × 2^n)), where n also grows with
 * the path's recent flaps, so repeat offenders wait longer.
 */
export class Backoff {
  private attempts = 0;
  private flaps = 0;
  private upSince?: number;

  constructor(
    private settings: BackoffSettings,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /** The path came up. */
  up(): void {
    this.upSince = this.now();
  }

  /** The path went down; a short run counts as a flap, a long one resets everything. */
  down(): void {
    if (this.upSince !== undefined) {
      if (this.now() - this.upSince >= this.settings.stableAfterMs) {
        this.attempts = 0;
        this.flaps = 0;
      } else {
        this.flaps += 1;
      }
    }
    this.upSince = undefined;
  }

  /** New delays from now on; the attempt and flap counts are kept. */
  configure(settings: BackoffSettings): void {
    this.settings = settings;
  }

  /** The delay before the next reopen attempt. */
  next(): number {
    const exponent = Math.min(this.attempts + this.flaps, 30);
    this.attempts += 1;
    const ceiling = Math.min(this.settings.maxMs, this.settings.initialMs * 2 ** exponent);
    return Math.round(this.random() * ceiling);
  }

  get attempt(): number {
    return this.attempts;
  }

  get flapCount(): number {
    return this.flaps;
  }
}
