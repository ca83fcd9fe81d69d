import type { TunnelmuxEvent } from '@tunnelmux/core';
import { EventBus } from '@tunnelmux/core/events';
import type { Relay, RelayEvent, RelayMetrics } from '@tunnelmux/core/session';
import { stripAnsi } from '../util/output';
import type { ControlInstance } from './server';

/** Session ids are shown by their first 8 hex digits only, as in the relay's own log. */
export const SESSION_PREFIX = 8;

/** What `status` answers on a relay's control socket. */
export interface RelayStatus {
  kind: 'relay';
  name: string;
  pid: number;
  listen: string;
  target: string;
  windowMs: number;
  startedAt: number;
  sessions: {
    id: string;
    peer: string;
    attached: boolean;
    since: number;
    detachedForMs?: number;
    bytesIn: number;
    bytesOut: number;
    resumes: number;
  }[];
  totals: {
    opened: number;
    live: number;
    detached: number;
    resumed: number;
    replayedBytes: number;
    lost: RelayMetrics['sessionsLost'];
    keyRefusals: number;
    handshakesRefused: number;
  };
}

/** A Prometheus registry, as far as a scrape needs it. */
export interface Scrape {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface RelayFacts {
  name: string;
  listen: string;
  target: string;
  windowMs: number;
}

// A relay's log lines become `log` events on the same stream `up` serves; resumes keep their own type.
function toEvent(event: RelayEvent, text: string): Parameters<EventBus['emit']>[0] {
  const session = 'session' in event && event.session ? event.session.slice(0, SESSION_PREFIX) : undefined;
  if (event.type === 'session-resumed') {
    return {
      type: 'session-resumed',
      session: session ?? '',
      stallMs: event.stallMs,
      replayedBytes: event.replayedBytes,
    };
  }
  const level =
    event.type === 'session-lost' || event.type === 'key-refused' || event.type === 'target-unreachable'
      ? 'warn'
      : event.type === 'probe' || event.type === 'handshake-failed'
        ? 'debug'
        : 'info';
  return {
    type: 'log',
    pathId: 'relay',
    provider: 'relay',
    level,
    message: stripAnsi(text),
    fields: { ...event, ...(session ? { session } : {}) },
  };
}

/**
 * The control-socket face of a running relay: status, metrics, Prometheus text and events, shaped like a
 * Manager's so the same ControlServer serves both. The key is never part of any of it.
 */
export function relayInstance(facts: RelayFacts, keep = 500) {
  const bus = new EventBus();
  const recent: TunnelmuxEvent[] = [];
  bus.on((event) => {
    recent.push(event);
    if (recent.length > keep) recent.shift();
  });
  const startedAt = Date.now();
  let relay: Relay | undefined;
  let prometheus: Scrape | undefined;

  const status = (): RelayStatus => {
    const metrics = relay?.metrics();
    return {
      kind: 'relay',
      name: facts.name,
      pid: process.pid,
      listen: facts.listen,
      target: facts.target,
      windowMs: facts.windowMs,
      startedAt,
      sessions: (relay?.sessions() ?? []).map((s) => ({
        id: s.id.slice(0, SESSION_PREFIX),
        peer: s.peer,
        attached: s.attached,
        since: s.openedAt,
        detachedForMs: s.detachedForMs,
        bytesIn: s.bytesIn,
        bytesOut: s.bytesOut,
        resumes: s.resumes,
      })),
      totals: {
        opened: metrics?.sessionsOpened ?? 0,
        live: metrics?.sessionsLive ?? 0,
        detached: metrics?.sessionsDetached ?? 0,
        resumed: metrics?.resumes ?? 0,
        replayedBytes: metrics?.replayedBytes ?? 0,
        lost: metrics?.sessionsLost ?? { 'window-expired': 0, 'too-many-detached': 0, 'relay-stopped': 0 },
        keyRefusals: metrics?.keyRefusals ?? 0,
        handshakesRefused: metrics?.handshakesRefused ?? 0,
      },
    };
  };

  const instance: ControlInstance = {
    status,
    getMetrics: () => relay?.metrics() ?? {},
    prometheus: async () => (prometheus ? prometheus.metrics() : ''),
    get prometheusContentType() {
      return prometheus?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8';
    },
    events: { subscribe: (name, filter, options) => bus.subscribe(name, filter, options) },
  };

  return {
    instance,
    recent: () => recent,
    /** Set once createRelay has answered (its first events arrive before): the bound address, the registry. */
    attach(running: Relay, listen: string, registry: Scrape) {
      relay = running;
      facts.listen = listen;
      prometheus = registry;
    },
    /** Publish one relay event, with the words the relay logged for it. */
    observe(event: RelayEvent, text: string) {
      bus.emit(toEvent(event, text));
    },
    close: () => bus.close(),
  };
}
