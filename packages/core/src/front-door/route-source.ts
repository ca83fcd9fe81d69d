import type { Duplex } from 'node:stream';
import type { TrafficReader } from '../metrics/path-counters';
import type { TcpConnecting } from '../net/tcp';

export type { TrafficReader };

/** One path the front door may dial. */
export interface Route {
  readonly id: string;
  /** A stream to the target through this path; rejects on failure or when `signal` aborts. */
  dial(signal: AbortSignal): Promise<Duplex>;
  /**
   * The same dial through callbacks, where the path allows it (its tunnel is a plain TCP connect): no promise or
   * signal per client. Returns undefined when it does not (use `dial`); otherwise exactly one of `sink`'s calls
   * follows, never before this returns, unless the attempt is aborted (then `dialFailed` hears the reason).
   */
  connect?(sink: DialSink): DialAttempt | undefined;
  /**
   * Count a connection this route carries against the very path it was dialled through (a replaced path keeps
   * its id); without it the front door asks `RouteSource.carried` by id.
   */
  carry?(cut?: () => void): ConnectionMeter;
}

/** Hears once how a callback dial (`Route.connect`) came out. */
export interface DialSink {
  dialled(stream: Duplex): void;
  dialFailed(error: unknown): void;
}

/** A dial under way: what `connectTcp` returns; an AbortController is one too. */
export type DialAttempt = TcpConnecting;

/** Counts one carried connection against the path that carries it. */
export interface ConnectionMeter {
  /** Bytes from the path to the client. */
  bytesIn(count: number): void;
  /** Bytes from the client to the path. */
  bytesOut(count: number): void;
  /** Read the connection's counts from `read` when the path's totals are read and at close, not per chunk. */
  follow(read: TrafficReader): void;
  /** The connection ended; call once. */
  close(): void;
}

/**
 * All the front door needs from whoever owns the paths (the manager implements it, a session layer may wrap it):
 * the healthy routes in order, where to report a failed dial or a refusal, and a meter per carried connection.
 */
export interface RouteSource {
  /** Healthy routes, best first: the primary leads. */
  routes(): readonly Route[];
  /** A live dial through `pathId` failed: passive detection counts it against the path. */
  dialFailed(pathId: string, reason: string): void;
  /**
   * `pathId` now carries a connection: count it, and its bytes through the returned meter. `cut` ends that
   * connection at once (a drained path whose time ran out cuts what it still carries).
   */
  carried(pathId: string, cut?: () => void): ConnectionMeter;
  /** No route could carry the client at `client`. */
  refused(reason: string, client: string): void;
  /** Every path and its state, for a refusal's reason: `a disconnected, b reconnecting`. */
  describe(): string;
  /** Something the user should know that is about no single connection. */
  warn(message: string): void;
}
