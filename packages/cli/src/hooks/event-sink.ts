import type { TunnelmuxEvent } from '@tunnelmux/core';
import { EventBus, type EventInput } from '@tunnelmux/core/events';

/** A source of events: a Manager's `events`, or another sink. */
export interface EventSource {
  on(listener: (event: TunnelmuxEvent) => void): () => void;
}

/**
 * The one event stream `up` prints, keeps and serves on its control socket: the manager's events plus the
 * CLI's own (`hook-failed`), numbered in one sequence so `events --follow` can stitch the replay and the live
 * stream. Forwarded events keep their time; only `seq` is renumbered.
 */
export class EventSink {
  private stamp: number | undefined;
  private readonly bus = new EventBus(1024, () => this.stamp ?? Date.now());
  private readonly unsubscribe: (() => void)[] = [];
  /** `subscribe` and `on`, as a ControlInstance's `events`. */
  readonly events: Pick<EventBus, 'subscribe' | 'on'> = {
    subscribe: this.bus.subscribe.bind(this.bus),
    on: this.bus.on.bind(this.bus),
  } as Pick<EventBus, 'subscribe' | 'on'>;

  /** Forward every event of `source` into this stream. */
  forward(source: EventSource): this {
    this.unsubscribe.push(
      source.on((event) => {
        const { time, seq: _seq, ...input } = event;
        this.stamp = time;
        try {
          this.bus.emit(input as EventInput);
        } finally {
          this.stamp = undefined;
        }
      }),
    );
    return this;
  }

  /** Publish an event of the CLI's own, stamped now. */
  emit(input: EventInput): TunnelmuxEvent {
    return this.bus.emit(input);
  }

  on(listener: (event: TunnelmuxEvent) => void): () => void {
    return this.bus.on(listener);
  }

  close(): void {
    for (const stop of this.unsubscribe.splice(0)) stop();
    this.bus.close();
  }
}
