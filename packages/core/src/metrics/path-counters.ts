import { type Linked, LinkedList } from '../collections/linked-list';
import { LatencyWindow } from './latency-window';
import type { LatencyStats } from './types';

/** One connection's byte counts so far (both ways), read when someone asks. */
export type TrafficReader = () => { bytesIn: number; bytesOut: number };

/** Counts one carried connection: what the front door holds per connection (structurally its meter). */
export interface TrafficMeter {
  bytesIn(count: number): void;
  bytesOut(count: number): void;
  /**
   * Read the connection's counts from `read` (its socket's own counters) whenever the path's totals are read,
   * and once more at close: no call per chunk.
   */
  follow(read: TrafficReader): void;
  close(): void;
}

/** A path's running figures: traffic, dials, restarts and probe latency. Only its owner writes them. */
export class PathCounters {
  activeConnections = 0;
  totalConnections = 0;
  failedDials = 0;
  restarts = 0;
  /** Epoch ms of the last traffic or successful probe. */
  lastActive?: number;
  readonly latency = new LatencyWindow(100);
  // Bytes of ended connections (and of counted chunks); live followed connections are added on read.
  /** @internal */
  doneIn = 0;
  /** @internal */
  doneOut = 0;
  // Carried connections, linked through their meters: no table to grow and shrink per connection.
  private readonly carried = new LinkedList<CarriedMeter>();
  private dialing = 0;
  private readonly idleWaiters: Array<() => void> = [];

  /** Bytes from the path to clients, live connections included. */
  get bytesIn(): number {
    let total = this.doneIn;
    for (let meter = this.carried.head; meter; meter = meter.linkNext)
      if (meter.reader) total += meter.reader().bytesIn;
    return total;
  }

  /** Bytes from clients to the path, live connections included. */
  get bytesOut(): number {
    let total = this.doneOut;
    for (let meter = this.carried.head; meter; meter = meter.linkNext)
      if (meter.reader) total += meter.reader().bytesOut;
    return total;
  }

  /**
   * A connection is now carried: count it, and return the meter for its bytes and its end. `cut` ends the
   * connection at once; a drain that runs out of time calls it (`cutAll`).
   */
  carry(cut?: () => void): TrafficMeter {
    this.activeConnections += 1;
    this.totalConnections += 1;
    this.lastActive = Date.now();
    const meter = new CarriedMeter(this, cut);
    this.carried.add(meter);
    return meter;
  }

  /** @internal A carried connection ended (its meter's close). */
  ended(meter: CarriedMeter): void {
    this.carried.remove(meter);
    this.activeConnections -= 1;
    this.lastActive = Date.now();
    this.wakeIfIdle();
  }

  /**
   * A dial through the path began: until the returned release is called it counts as live for `whenIdle`, so a
   * drain does not stop the tunnel under a connection that is about to be carried.
   */
  dialStarted(): () => void {
    this.dialing += 1;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.dialing -= 1;
      this.wakeIfIdle();
    };
  }

  /** Resolves once no connection is carried or being dialled (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.activeConnections === 0 && this.dialing === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIfIdle(): void {
    // Checked first: splice(0) makes an array even when nobody waits, and this runs twice per connection.
    if (this.activeConnections === 0 && this.dialing === 0 && this.idleWaiters.length > 0)
      for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Cut every carried connection; returns how many were cut. */
  cutAll(): number {
    const live = this.carried.toArray();
    for (const meter of live) meter.cut?.();
    return live.length;
  }

  latencyStats(): LatencyStats {
    const l = this.latency;
    return {
      last: l.last,
      p50: l.percentile(50),
      p95: l.percentile(95),
      p99: l.percentile(99),
      samples: l.count,
      total: l.total,
      sumMs: l.sumMs,
    };
  }
}

/** The meter of one carried connection: one object, its methods shared, linked into its path's counters. */
class CarriedMeter implements TrafficMeter, Linked<CarriedMeter> {
  linkPrev: CarriedMeter | undefined;
  linkNext: CarriedMeter | undefined;
  reader: TrafficReader | undefined;
  private open = true;

  constructor(
    private readonly counters: PathCounters,
    readonly cut: (() => void) | undefined,
  ) {}

  bytesIn(count: number): void {
    this.counters.doneIn += count;
  }

  bytesOut(count: number): void {
    this.counters.doneOut += count;
  }

  follow(read: TrafficReader): void {
    if (!this.open || this.reader) return;
    this.reader = read;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    const read = this.reader;
    if (read) {
      const last = read();
      this.reader = undefined;
      this.counters.doneIn += last.bytesIn;
      this.counters.doneOut += last.bytesOut;
    }
    this.counters.ended(this);
  }
}
