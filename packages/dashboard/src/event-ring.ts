import type { TunnelmuxEvent } from '@tunnelmux/core';
import type { DashboardHandlers } from './types';

/** One event with the stream id it was given (monotonic per dashboard, the SSE `id:` field). */
export interface Numbered {
  id: number;
  event: TunnelmuxEvent;
}

/** What a stream resuming after `Last-Event-ID` gets: the events it missed, and whether some are gone. */
export interface Resume {
  missed: Numbered[];
  /** Set when the asked id is older than the oldest kept: events in (after, firstKept) are lost to this client. */
  gap?: { after: number; oldest: number };
}

/**
 * The recent events of the instance, numbered, in a bounded ring: every SSE client reads from here, so a client
 * that reconnects with `Last-Event-ID` gets exactly what it missed (or is told plainly that it fell too far behind).
 */
export class EventRing {
  private readonly items: Numbered[] = [];
  private readonly listeners = new Set<(item: Numbered) => void>();
  private next = 1;
  private readonly abort = new AbortController();
  /** Settles when the instance's event stream ends. */
  readonly done: Promise<void>;

  constructor(
    handlers: DashboardHandlers,
    readonly size = 2048,
  ) {
    // Debug logs are left out: they are noise on a page and would push real events out of the ring.
    const { replay, live } = handlers.events({ follow: true, all: true, limit: size }, this.abort.signal);
    for (const event of replay) this.push(event);
    this.done = (async () => {
      if (!live) return;
      try {
        for await (const event of live) this.push(event);
      } catch {
        // Aborted on close, or the instance stopped: the streams end with it.
      }
    })();
  }

  /** The id of the newest event (0 before any). */
  get last(): number {
    return this.next - 1;
  }

  /** Events after `after` that the ring still holds, and a gap when some between were dropped. */
  since(after: number): Resume {
    const oldest = this.items[0]?.id ?? this.next;
    const missed = this.items.filter((item) => item.id > after);
    return after + 1 < oldest && after < this.last ? { missed, gap: { after, oldest } } : { missed };
  }

  /** Call `listener` with every new event until the returned function is called. */
  listen(listener: (item: Numbered) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.abort.abort();
    this.listeners.clear();
  }

  private push(event: TunnelmuxEvent): void {
    if (event.type === 'log' && event.level === 'debug') return;
    const item = { id: this.next++, event };
    this.items.push(item);
    if (this.items.length > this.size) this.items.shift();
    for (const listener of this.listeners) listener(item);
  }
}
