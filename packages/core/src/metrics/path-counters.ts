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
  private readonly live = new Set<TrafficReader>();

  /** Bytes from the path to clients, live connections included. */
  get bytesIn(): number {
    let total = this.doneIn;
    for (const read of this.live) total += read().bytesIn;
    return total;
  }

  /** Bytes from clients to the path, live connections included. */
  get bytesOut(): number {
    let total = this.doneOut;
    for (const read of this.live) total += read().bytesOut;
    return total;
  }

  /** A connection is now carried: count it, and return the meter for its bytes and its end. */
  carry(): TrafficMeter {
    this.activeConnections += 1;
    this.totalConnections += 1;
    this.lastActive = Date.now();
    let open = true;
    let reader: TrafficReader | undefined;
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
        this.live.add(read);
      },
      close: () => {
        if (!open) return;
        open = false;
        if (reader) {
          const last = reader();
          this.live.delete(reader);
          this.doneIn += last.bytesIn;
          this.doneOut += last.bytesOut;
        }
        this.activeConnections -= 1;
        this.lastActive = Date.now();
      },
    };
  }

  latencyStats(): LatencyStats {
    const l = this.latency;
    return {
      last: l.last,
      p50: l.percentile(50),
      p95: l.percentile(95),
      p99: l.percentile(99),
      samples: l.count,
    };
  }
}
