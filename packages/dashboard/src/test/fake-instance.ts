import { EventEmitter, on } from 'node:events';
import type { TunnelmuxEvent } from '@tunnelmux/core';
import type { DashboardHandlers } from '../types';

type EventInput = { type: string; [key: string]: unknown };

/**
 * An instance that answers like the CLI's handlers (same shapes, same refusals) over paths held in memory, and
 * lets a test publish events; for the API and page tests that need no real paths.
 */
export function fakeInstance(
  ids: string[] = ['a', 'b'],
  options: { sessions?: Record<string, unknown>[] } = {},
) {
  const bus = new EventEmitter();
  bus.setMaxListeners(100);
  const recent: TunnelmuxEvent[] = [];
  let seq = 0;
  let pinned: string | undefined;
  let autoFailover = true;
  const paths = ids.map((id, index) => ({
    id,
    provider: 'local',
    mode: 'access' as const,
    state: 'connected',
    priority: index + 1,
    primary: false,
    pinned: false,
    target: '127.0.0.1:22',
    protocol: 'ssh',
    pid: 1000 + index,
    endpoint: `127.0.0.1:${40000 + index}`,
    latencyMs: 3 + index,
    latency: { last: 3 + index, p50: 3, p95: 5, p99: 6, samples: 10 },
    consecutiveFailures: 0,
    consecutiveSuccesses: 10,
    bytesIn: 1024 * (index + 1),
    bytesOut: 2048 * (index + 1),
    activeConnections: index,
    totalConnections: 3 + index,
    failedDials: 0,
    restarts: 0,
    uptimeMs: 60_000,
    since: Date.now() - 60_000,
    lastError: undefined as string | undefined,
  }));
  const primaryId = () =>
    pinned ?? paths.filter((p) => p.state === 'connected').sort((a, b) => a.priority - b.priority)[0]?.id;
  const list = () => paths.map((p) => ({ ...p, primary: p.id === primaryId(), pinned: p.id === pinned }));
  const status = () => ({
    primary: primaryId(),
    pinned,
    autoFailover,
    degraded: !paths.some((p) => p.state === 'connected'),
    paths: list(),
    ...(options.sessions ? { sessions: options.sessions } : {}),
  });
  const emit = (input: EventInput): TunnelmuxEvent => {
    const event = { time: Date.now(), seq: ++seq, ...input } as unknown as TunnelmuxEvent;
    recent.push(event);
    if (recent.length > 1000) recent.shift();
    bus.emit('event', event);
    return event;
  };
  const refuse = (message: string, code: string) => Object.assign(new Error(message), { code });
  const handlers: DashboardHandlers = {
    status,
    list: () => list(),
    prometheus: async () => ({
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      text: '# HELP tunnelmux_failovers_total Failovers.\n# TYPE tunnelmux_failovers_total counter\ntunnelmux_failovers_total 0\n',
    }),
    primary: ({ id }) => {
      const before = primaryId();
      if (id) {
        const path = paths.find((p) => p.id === id);
        if (!path) throw refuse(`[tunnelmux] no path "${id}"; known paths: ${ids.join(', ')}`, 'ERR_STATE');
        if (path.state !== 'connected')
          throw refuse(
            `[tunnelmux] path "${id}" is ${path.state}; only a connected path can be made primary`,
            'ERR_STATE',
          );
      }
      pinned = id ?? undefined;
      if (primaryId() !== before)
        emit({
          type: 'primary-change',
          from: before,
          to: primaryId(),
          reason: id ? 'manual' : 'pin-cleared',
        });
      return status();
    },
    failover: ({ enabled }) => {
      autoFailover = enabled;
      return status();
    },
    restart: async ({ id }) => {
      const path = paths.find((p) => p.id === id);
      if (path) path.restarts += 1;
      return list().find((p) => p.id === id);
    },
    events: (params, signal) => {
      const replay = recent.slice(-(params.limit ?? 50));
      if (!params.follow) return { replay };
      async function* live() {
        try {
          for await (const [event] of on(bus, 'event', { signal })) yield event as TunnelmuxEvent;
        } catch {
          // Aborted.
        }
      }
      return { replay, live: live() };
    },
  };
  /** Take a path down (or up), the way the manager would report it. */
  const setState = (id: string, to: 'connected' | 'reconnecting' | 'failed', reason = 'test') => {
    const path = paths.find((p) => p.id === id);
    if (!path) throw new Error(`no path ${id}`);
    const before = primaryId();
    const from = path.state;
    path.state = to;
    if (to !== 'connected') {
      path.lastError = reason;
      if (pinned === id) pinned = undefined;
    }
    emit({ type: 'state-change', pathId: id, provider: 'local', from, to, reason });
    const after = primaryId();
    if (after !== before) {
      if (to !== 'connected' && before === id) emit({ type: 'failover', from: id, to: after, reason });
      emit({ type: 'primary-change', from: before, to: after, reason: 'failover' });
    }
  };
  return { handlers, emit, setState, paths, subscribers: () => bus.listenerCount('event') };
}
