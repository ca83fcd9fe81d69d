import { readdirSync, readFileSync } from 'node:fs';
import { monotonicNow } from '../async/monotonic';

/** Where a process's descriptor limit and count come from; Linux's /proc by default. */
export interface DescriptorSource {
  /** The soft RLIMIT_NOFILE, or undefined where it cannot be read. */
  softLimit(): number | undefined;
  /** How many descriptors are open now, or undefined where they cannot be listed. */
  openCount(): number | undefined;
}

export const procDescriptors: DescriptorSource = {
  softLimit() {
    try {
      const limits = readFileSync('/proc/self/limits', 'utf8');
      const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
      return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
    } catch {
      return undefined;
    }
  },
  openCount() {
    try {
      return readdirSync('/proc/self/fd').length;
    } catch {
      return undefined;
    }
  },
};

/**
 * How many client connections the front door may hold before it turns the next away itself, and says so.
 * Left to run out, accept() fails inside libuv, which drops the extra clients without telling Node: no warning
 * could be given. Each connection takes `perConnection` descriptors (client and path); `reserve` stays free
 * for probes, tools and files.
 */
export class DescriptorBudget {
  private base = 0;
  private listedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly source: DescriptorSource = procDescriptors,
    private readonly perConnection = 2,
    private readonly reserve = 16,
    private readonly relistMs = 5000,
    private readonly now: () => number = monotonicNow,
  ) {}

  /** The most connections to hold, given `live` held now; undefined when the limit is unknown or unlimited. */
  cap(live: number): number | undefined {
    const soft = this.source.softLimit();
    if (soft === undefined) return undefined;
    // Listing descriptors costs one entry each: do it near the limit, or now and then to follow the rest.
    const near = live * this.perConnection + this.base + this.reserve >= soft / 2;
    const now = this.now();
    if (near || now - this.listedAt >= this.relistMs) {
      const open = this.source.openCount();
      if (open !== undefined) {
        this.base = Math.max(0, open - live * this.perConnection);
        this.listedAt = now;
      }
    }
    return Math.max(1, Math.floor((soft - this.base - this.reserve) / this.perConnection));
  }
}
