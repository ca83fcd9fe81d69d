import { StateError } from '../errors';
import { EVENT_TYPES, type EventInput, type EventOf, type EventType, type TunnelmuxEvent } from './types';

export interface SubscribeOptions {
  /** Events held for a slow reader before the oldest are dropped (default 1024). */
  bufferSize?: number;
  /** Ends the subscription. */
  signal?: AbortSignal;
}

/** An async iterable of events; a slow reader loses the oldest events, never blocks the emitter. */
export interface Subscription<E extends TunnelmuxEvent = TunnelmuxEvent> extends AsyncIterableIterator<E> {
  /** How many events were dropped because the reader fell behind. */
  readonly dropped: number;
  /** Events waiting to be read. */
  readonly pending: number;
  close(): void;
}

type Selector = EventType | readonly EventType[] | '*';

class BoundedSubscription<E extends TunnelmuxEvent> implements Subscription<E> {
  dropped = 0;
  private queue: E[] = [];
  private waiting?: (result: IteratorResult<E>) => void;
  private closed = false;

  constructor(
    private readonly bufferSize: number,
    private readonly onClose: () => void,
    private readonly onDrop: () => void = () => undefined,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  deliver(event: E): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    this.queue.push(event);
    if (this.queue.length > this.bufferSize) {
      this.queue.shift();
      this.dropped += 1;
      this.onDrop();
    }
  }

  next(): Promise<IteratorResult<E>> {
    const event = this.queue.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<E>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.onClose();
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** Typed publish/subscribe with bounded, filtered, async-iterable subscriptions. */
export class EventBus {
  private seq = 0;
  private readonly subscribers = new Set<{
    /** The types it takes; undefined for all. */
    names?: ReadonlySet<string>;
    accepts: (event: TunnelmuxEvent) => boolean;
    subscription: BoundedSubscription<TunnelmuxEvent>;
  }>();
  private readonly listeners = new Set<(event: TunnelmuxEvent) => void>();
  private closed = false;
  /** Events dropped across every subscription, ever. */
  dropped = 0;

  constructor(
    private readonly defaultBufferSize = 1024,
    private readonly now: () => number = Date.now,
    /** Stamped on every event: a manager's bus names its service. */
    private readonly service?: string,
  ) {}

  /** Publish an event to every matching subscriber; never waits for them. */
  emit(input: EventInput): TunnelmuxEvent {
    const service = input.service ?? this.service;
    const event = {
      ...input,
      ...(service === undefined ? {} : { service }),
      time: this.now(),
      seq: ++this.seq,
    } as TunnelmuxEvent;
    if (this.closed) return event;
    for (const listener of this.listeners) {
      // A listener's failure is its own: it must not unwind into the engine code that emitted the event.
      try {
        listener(event);
      } catch (error) {
        this.listenerFailed(listener, error);
      }
    }
    for (const { accepts, subscription } of this.subscribers) {
      if (accepts(event)) subscription.deliver(event);
    }
    return event;
  }

  /**
   * Whether an event of `type` would reach anyone: a listener, or a subscriber taking that type. Frequent
   * events (a probe per path every few seconds) are only built when this says yes.
   */
  wants(type: EventType): boolean {
    if (this.closed) return false;
    if (this.listeners.size > 0) return true;
    for (const { names } of this.subscribers) if (!names || names.has(type)) return true;
    return false;
  }

  /** Events of one type, several types or all (`'*'`), optionally filtered. */
  subscribe<T extends EventType>(
    name: T | readonly T[],
    filter?: (event: EventOf<T>) => boolean,
    options?: SubscribeOptions,
  ): Subscription<EventOf<T>>;
  subscribe(
    name?: '*',
    filter?: (event: TunnelmuxEvent) => boolean,
    options?: SubscribeOptions,
  ): Subscription<TunnelmuxEvent>;
  subscribe(
    name: Selector = '*',
    filter?: (event: never) => boolean,
    options: SubscribeOptions = {},
  ): Subscription<TunnelmuxEvent> {
    const names = name === '*' ? undefined : new Set<string>(typeof name === 'string' ? [name] : name);
    for (const type of names ?? []) {
      if (!EVENT_TYPES.includes(type as EventType)) {
        throw new StateError(`unknown event type "${type}"; expected one of ${EVENT_TYPES.join(', ')}`);
      }
    }
    const size = options.bufferSize ?? this.defaultBufferSize;
    if (!Number.isInteger(size) || size < 1) {
      throw new StateError(`bufferSize must be a positive integer, got ${String(size)}`);
    }
    const entry = {
      names,
      accepts: (event: TunnelmuxEvent) =>
        (!names || names.has(event.type)) &&
        (!filter || (filter as (event: TunnelmuxEvent) => boolean)(event)),
      subscription: new BoundedSubscription<TunnelmuxEvent>(
        size,
        () => this.subscribers.delete(entry),
        () => {
          this.dropped += 1;
        },
      ),
    };
    this.subscribers.add(entry);
    if (this.closed) entry.subscription.close();
    options.signal?.addEventListener('abort', () => entry.subscription.close(), { once: true });
    return entry.subscription;
  }

  /** Listener calls that threw (each was contained; the first per listener is also written to stderr). */
  listenerErrors = 0;
  private readonly failedListeners = new WeakSet<object>();

  private listenerFailed(listener: object, error: unknown): void {
    this.listenerErrors += 1;
    if (this.failedListeners.has(listener)) return;
    this.failedListeners.add(listener);
    process.stderr.write(
      `[tunnelmux] an event listener threw (later failures of the same listener are only counted): ${
        error instanceof Error ? (error.stack ?? error.message) : String(error)
      }\n`,
    );
  }

  /** A synchronous listener for internal wiring; returns an unsubscribe function. */
  on(listener: (event: TunnelmuxEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** End every subscription. */
  close(): void {
    this.closed = true;
    for (const { subscription } of [...this.subscribers]) subscription.close();
    this.listeners.clear();
  }
}
