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
  private doneIn = 0;
  private doneOut = 0;
  private readonly readers = new Set<TrafficReader>();
  private readonly live = new Set<{ cut: () => void }>();
  private dialing = 0;
  private readonly idleWaiters: Array<() => void> = [];

  /** Bytes from the path to clients, live connections included. */
  get bytesIn(): number {
    let total = this.doneIn;
    for (const read of this.readers) total += read().bytesIn;
    return total;
  }

  /** Bytes from clients to the path, live connections included. */
  get bytesOut(): number {
    let total = this.doneOut;
    for (const read of this.readers) total += read().bytesOut;
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
    let open = true;
    let reader: TrafficReader | undefined;
    const entry = { cut: cut ?? (() => undefined) };
    this.live.add(entry);
    return {
      bytesIn: (count) => {
        this.doneIn += count;
      },
      bytesOut: (count) => {
        this.doneOut += count;
      },
      follow: (read) => {
        if (!open || reader) return;
        reader = read;
        this.readers.add(read);
      },
      close: () => {
        if (!open) return;
        open = false;
        if (reader) {
          const last = reader();
          this.readers.delete(reader);
          this.doneIn += last.bytesIn;
          this.doneOut += last.bytesOut;
        }
        this.activeConnections -= 1;
        this.lastActive = Date.now();
        this.live.delete(entry);
        this.wakeIfIdle();
      },
    };
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
    if (this.activeConnections === 0 && this.dialing === 0)
      for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Cut every carried connection; returns how many were cut. */
  cutAll(): number {
    const live = [...this.live];
    for (const entry of live) entry.cut();
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
