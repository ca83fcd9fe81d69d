import type { TunnelmuxEvent } from '@tunnelmux/core';

/** The events a stream starts with (`replay`) and, with `follow`, the ones after them (`live`). */
export interface EventsAnswer {
  replay: TunnelmuxEvent[];
  live?: AsyncIterable<TunnelmuxEvent>;
}

/**
 * What the dashboard needs from a running instance: the control socket's own handlers (the CLI passes the very
 * object its socket calls), so the HTTP API is not a second implementation. Path methods take the service they
 * act on. Errors carry `code` and a `[tunnelmux]` message, which the API passes on unchanged.
 */
export interface DashboardHandlers {
  /** A JSON-safe snapshot: `primary`, `paths`, ..., and `services` when the instance runs several. */
  status(): unknown;
  list(service?: string): unknown[];
  prometheus(): Promise<{ contentType: string; text: string }>;
  primary(params: { id?: string | null }, service?: string): unknown;
  failover(params: { enabled: boolean }, service?: string): unknown;
  restart(params: { id: string }, service?: string): Promise<unknown>;
  events(params: { follow?: boolean; all?: boolean; limit?: number }, signal: AbortSignal): EventsAnswer;
}

/** What `GET history` and `GET report` are asked: all optional, passed on as given. */
export interface HistoryQuery {
  service?: string;
  path?: string;
  /** Epoch ms. */
  since?: number;
  /** Epoch ms. */
  until?: number;
  limit?: number;
}

/** Persistent history, where the instance keeps it; without one `GET history` and `GET report` answer 501. */
export interface HistoryProvider {
  /** Past events and samples, newest last. */
  history(query: HistoryQuery): unknown | Promise<unknown>;
  /** Availability per day and per path; the page draws `days[]` of `{ day, path, availability }` when present. */
  report(query: HistoryQuery): unknown | Promise<unknown>;
}
