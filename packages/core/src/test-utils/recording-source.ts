import type { Duplex } from 'node:stream';
import type { DialSink, Route, RouteSource } from '../front-door/route-source';
import { connectTcp, dialTcp } from '../net/tcp';
import type { Target } from '../provider/types';

/** One connection the front door counted against a path, as the source saw it. */
export interface RecordedMeter {
  pathId: string;
  bytesIn: number;
  bytesOut: number;
  closed: number;
  read?: () => { bytesIn: number; bytesOut: number };
  cut?: () => void;
}

/**
 * A RouteSource over real routes that records everything the front door reports to it (failed dials,
 * refusals, warnings, meters), for tests of the front door and its carriers without a manager.
 */
export function recordingSource(initial: Route[] = []) {
  const record = {
    routes: initial,
    dialFailed: [] as Array<{ pathId: string; reason: string }>,
    refused: [] as Array<{ reason: string; client: string }>,
    warnings: [] as string[],
    meters: [] as RecordedMeter[],
  };
  const source: RouteSource = {
    routes: () => record.routes,
    dialFailed: (pathId, reason) => {
      record.dialFailed.push({ pathId, reason });
    },
    carried: (pathId, cut) => {
      const meter: RecordedMeter = { pathId, bytesIn: 0, bytesOut: 0, closed: 0, cut };
      record.meters.push(meter);
      return {
        bytesIn: (count) => {
          meter.bytesIn += count;
        },
        bytesOut: (count) => {
          meter.bytesOut += count;
        },
        follow: (read) => {
          meter.read = read;
        },
        close: () => {
          meter.closed += 1;
        },
      };
    },
    refused: (reason, client) => {
      record.refused.push({ reason, client });
    },
    describe: () =>
      record.routes.length > 0 ? record.routes.map((r) => `${r.id} connected`).join(', ') : 'no paths',
    warn: (message) => {
      record.warnings.push(message);
    },
  };
  return { source, record };
}

/** A route that dials `target` over 127.0.0.1, counting its dials and keeping the sockets it opened. */
export function tcpRoute(id: string, target: Target) {
  const route = {
    id,
    dials: 0,
    sockets: [] as Duplex[],
    async dial(signal: AbortSignal): Promise<Duplex> {
      route.dials += 1;
      const socket = await dialTcp(target, { signal, timeoutMs: 5000 });
      route.sockets.push(socket);
      return socket;
    },
  };
  return route;
}

/** A route whose dial never connects: it only ends when its signal aborts (a path that hangs). */
export function hangingRoute(id: string) {
  const route = {
    id,
    signals: [] as AbortSignal[],
    dial(signal: AbortSignal): Promise<Duplex> {
      route.signals.push(signal);
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    },
  };
  return route;
}

/**
 * A route that is a plain TCP connect, as the manager's are for a tunnel with `connectTo`: it connects through
 * callbacks. Its promise `dial` must not be used then, so it counts its calls, and `connect` counts its own.
 */
export function connectRoute(id: string, target: Target) {
  const route = {
    id,
    dials: 0,
    connects: 0,
    sockets: [] as Duplex[],
    async dial(signal: AbortSignal): Promise<Duplex> {
      route.dials += 1;
      return dialTcp(target, { signal, timeoutMs: 5000 });
    },
    connect(sink: DialSink) {
      route.connects += 1;
      return connectTcp(
        target,
        5000,
        (socket) => {
          route.sockets.push(socket);
          sink.dialled(socket);
        },
        (error) => sink.dialFailed(error),
      );
    },
  };
  return route;
}

/** A callback route whose connect never completes: it only ends when aborted, and keeps the reasons it was given. */
export function hangingConnectRoute(id: string) {
  const route = {
    id,
    aborts: [] as unknown[],
    dial(): Promise<Duplex> {
      return Promise.reject(new Error('a callback route: dial() must not be used'));
    },
    connect(sink: DialSink) {
      return {
        abort(reason: unknown) {
          route.aborts.push(reason);
          sink.dialFailed(reason);
        },
      };
    },
  };
  return route;
}
