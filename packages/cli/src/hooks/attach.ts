import type { TunnelmuxEvent } from '@tunnelmux/core';
import type { ControlInstance } from '../control/server';
import type { LiveViewManager } from '../render/live-view';
import { HookDispatcher } from './dispatcher';
import type { EventSink } from './event-sink';
import type { OnConfig } from './schema';

/** Run the config's `on:` hooks on the sink's events; their failures go back into the sink as `hook-failed`. */
export function attachHooks(
  on: OnConfig | undefined,
  sink: EventSink,
  options: { cwd: string; instance: string },
): HookDispatcher | undefined {
  if (!on || Object.keys(on).length === 0) return undefined;
  const dispatcher = new HookDispatcher(on, { ...options, report: (failure) => sink.emit(failure) });
  sink.on((event: TunnelmuxEvent) => dispatcher.handle(event));
  return dispatcher;
}

/** `instance` as the control socket and the live view see it, with its events taken from `sink`. */
type Shown = Omit<ControlInstance, 'events' | 'status' | 'getMetrics'> &
  LiveViewManager & { events: ControlInstance['events'] };

export function withEvents(instance: Shown, sink: EventSink): Shown {
  return {
    status: () => instance.status(),
    getMetrics: () => instance.getMetrics(),
    prometheus: () => instance.prometheus(),
    get prometheusContentType() {
      return instance.prometheusContentType;
    },
    events: sink.events,
  };
}
