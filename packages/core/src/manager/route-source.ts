import { TunnelmuxError } from '../errors';
import type { Route, RouteSource } from '../front-door/route-source';
import type { PathRunner } from './path-runner';

/** What the manager lends its front doors: its paths by priority, its primary, and where refusals go. */
export interface RouteHost {
  /** Every path, best priority first. */
  runners(): readonly PathRunner[];
  primary(): string | undefined;
  refused(reason: string, client: string): void;
  warn(message: string): void;
}

/** The manager's paths as the front door's narrow `RouteSource`: the front door never sees the manager. */
export function managerRoutes(host: RouteHost): RouteSource {
  const find = (id: string) => host.runners().find((runner) => runner.id === id);
  return {
    routes() {
      const primary = host.primary();
      const healthy = host
        .runners()
        .filter((runner) => runner.state === 'connected' && runner.tunnel !== undefined);
      const first = healthy.filter((runner) => runner.id === primary);
      return [...first, ...healthy.filter((runner) => runner.id !== primary)].map(routeOf);
    },
    dialFailed(pathId, reason) {
      find(pathId)?.suspect(reason, 'front-door');
    },
    carried(pathId) {
      const runner = find(pathId);
      if (!runner) throw new TunnelmuxError(`path "${pathId}" is gone; it cannot carry a connection`);
      return runner.counters.carry();
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

function routeOf(runner: PathRunner): Route {
  return {
    id: runner.id,
    dial(signal) {
      // The tunnel of the moment: the path may have been reopened since the routes were read.
      const tunnel = runner.tunnel;
      if (!tunnel) return Promise.reject(new TunnelmuxError(`path "${runner.id}" has no open tunnel`));
      return tunnel.dial(signal);
    },
  };
}
