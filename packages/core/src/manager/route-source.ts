import { TunnelmuxError } from '../errors';
import { stampError } from '../errors/stamp';
import type { DialAttempt, DialSink, Route, RouteSource } from '../front-door/route-source';
import { connectTcp } from '../net/tcp';
import type { PathRunner } from './path-runner';

/** What the manager lends its front doors: its paths by priority, its primary, and where refusals go. */
export interface RouteHost {
  /** Every path in the rotation, best priority first. */
  runners(): readonly PathRunner[];
  /** Paths out of the rotation whose live connections are draining. */
  draining(): readonly PathRunner[];
  primary(): string | undefined;
  refused(reason: string, client: string): void;
  warn(message: string): void;
}

/** The manager's paths as the front door's narrow `RouteSource`: the front door never sees the manager. */
export function managerRoutes(host: RouteHost): RouteSource {
  const find = (id: string) => host.runners().find((runner) => runner.id === id);
  return {
    routes() {
      // One pass and one array per client: the primary first, then the other healthy paths in order.
      const primary = host.primary();
      const routes: Route[] = [];
      let lead: Route | undefined;
      for (const runner of host.runners()) {
        if (runner.state !== 'connected' || runner.tunnel === undefined) continue;
        if (runner.id === primary && lead === undefined) lead = routeOf(runner);
        else routes.push(routeOf(runner));
      }
      if (lead) routes.unshift(lead);
      return routes;
    },
    dialFailed(pathId, reason) {
      find(pathId)?.suspect(reason, 'front-door');
    },
    carried(pathId, cut) {
      // A dial that won just as its path began to drain is counted (and cut) with the draining path.
      const runner = find(pathId) ?? host.draining().find((r) => r.id === pathId);
      if (!runner) throw new TunnelmuxError(`path "${pathId}" is gone; it cannot carry a connection`);
      return runner.counters.carry(cut);
    },
    refused: (reason, client) => host.refused(reason, client),
    describe() {
      const runners = host.runners();
      if (runners.length === 0) return 'no path is configured';
      return runners.map((runner) => `${runner.id} ${runner.state}`).join(', ');
    },
    warn: (message) => host.warn(message),
  };
}

// A path's route is made once and reused for every client it carries.
const routesOf = new WeakMap<PathRunner, Route>();

function routeOf(runner: PathRunner): Route {
  let route = routesOf.get(runner);
  if (!route) {
    route = {
      id: runner.id,
      dial: (signal) => dialThrough(runner, signal),
      connect: (sink) => connectThrough(runner, sink),
      carry: (cut) => runner.counters.carry(cut),
    };
    routesOf.set(runner, route);
  }
  return route;
}

// As `ctx.dialTcp` limits a provider's dial (the front door's own, shorter dialTimeout aborts it first).
const CONNECT_TIMEOUT_MS = 5000;

/** The callback dial, for a tunnel whose dial is a plain TCP connect (`connectTo`); errors stamped as the kit does. */
function connectThrough(runner: PathRunner, sink: DialSink): DialAttempt | undefined {
  const target = runner.tunnel?.connectTo;
  if (!target) return undefined;
  const release = runner.counters.dialStarted();
  return connectTcp(
    target,
    CONNECT_TIMEOUT_MS,
    (socket) => {
      setImmediate(release);
      sink.dialled(socket);
    },
    (error) => {
      release();
      sink.dialFailed(stampError(error, runner.provider.name, runner.id));
    },
  );
}

function dialThrough(runner: PathRunner, signal: AbortSignal) {
  // The tunnel of the moment: the path may have been reopened since the routes were read.
  const tunnel = runner.tunnel;
  if (!tunnel) return Promise.reject(new TunnelmuxError(`path "${runner.id}" has no open tunnel`));
  // Held until the front door has had its turn to count the connection (it does so without waiting).
  const release = runner.counters.dialStarted();
  const dialled = tunnel.dial(signal);
  dialled.then(
    () => setImmediate(release),
    () => release(),
  );
  return dialled;
}
