import type { PathStatus, TunnelmuxEvent } from '@tunnelmux/core';
import { CliError } from '../util/errors';
import type { ControlParams, ControlRequest } from './request';
import type { ControlContext, ControlPaths } from './server';

/** The events a stream starts with (`replay`) and, with `follow`, the ones after them (`live`). */
export interface EventsAnswer {
  replay: TunnelmuxEvent[];
  live?: AsyncIterable<TunnelmuxEvent>;
}

/** Where a running instance serves its dashboard, for `tunnelmux dashboard`. */
export interface DashboardAddress {
  /** The page, without the token. */
  url: string;
  /** The page with the token: opening it signs the browser in. */
  open: string;
}

/**
 * Every control method, once: the unix control socket and the dashboard's HTTP API both call these, so the two
 * can never answer the same question differently. Path methods take the service they act on; only the single
 * `default` service exists until an instance runs several.
 */
export interface ControlHandlers {
  info(): Record<string, unknown>;
  status(): unknown;
  list(service?: string): PathStatus[];
  metrics(): unknown;
  prometheus(): Promise<{ contentType: string; text: string }>;
  primary(params: ControlParams<'primary'>, service?: string): unknown;
  failover(params: ControlParams<'failover'>, service?: string): unknown;
  restart(params: ControlParams<'restart'>, service?: string): Promise<PathStatus>;
  stop(params: ControlParams<'stop'>, service?: string): Promise<PathStatus>;
  events(params: ControlParams<'events'>, signal: AbortSignal): EventsAnswer;
  dashboard(): DashboardAddress;
  /** Read the config again and apply the difference (`up` only); an invalid config is refused with ERR_CONFIG. */
  reload(): Promise<unknown>;
  /** Answer one checked control request (all but `events`, which streams). */
  call(request: Exclude<ControlRequest, { method: 'events' }>): Promise<unknown>;
}

/** The control methods over one instance. */
export function controlHandlers(context: ControlContext): ControlHandlers {
  const { instance } = context;
  // The instance picks the service: the only one when `service` is not given, else an error listing them.
  const paths = (method: string): ControlPaths => {
    if (!context.paths) {
      const kind = context.kind ?? 'instance';
      throw Object.assign(
        new CliError(
          `[tunnelmux] "${method}" needs paths, and this ${kind} has none; a ${kind} answers status, info, metrics and events`,
        ),
        { code: 'ERR_NO_PATHS' },
      );
    }
    return context.paths;
  };
  const handlers: ControlHandlers = {
    info: () => context.info(),
    status: () => instance.status(),
    list: (service) => {
      const all = paths('list').list() as (PathStatus & { service?: string })[];
      return service === undefined ? all : all.filter((path) => (path.service ?? 'default') === service);
    },
    metrics: () => instance.getMetrics(),
    prometheus: async () => ({
      contentType: instance.prometheusContentType,
      text: await instance.prometheus(),
    }),
    primary: (params, service) =>
      paths('primary').setPrimary(params.id ?? undefined, params.service ?? service),
    failover: (params, service) =>
      paths('failover').enableAutoFailover(params.enabled, params.service ?? service),
    restart: (params, service) => paths('restart').restart(params.id, params.service ?? service),
    stop: (params, service) => paths('stop').stop(params.id, params.service ?? service),
    async reload() {
      if (!context.reload) {
        throw Object.assign(
          new CliError(`[tunnelmux] this ${context.kind ?? 'instance'} has no config to reload`),
          { code: 'ERR_NO_RELOAD' },
        );
      }
      try {
        return await context.reload();
      } catch (error) {
        // An invalid config: the client exits 2, as `up` would on the same file.
        if ((error as { name?: string }).name === 'ConfigFileError')
          throw Object.assign(error as Error, { code: 'ERR_CONFIG' });
        throw error;
      }
    },
    events: (params, signal) => events(context, params, signal),
    dashboard: () => {
      const address = context.dashboard?.();
      if (!address) {
        throw Object.assign(
          new CliError(
            '[tunnelmux] this instance serves no dashboard; start it with `tunnelmux up --dashboard` ' +
              '(or `dashboard: { listen: 127.0.0.1:0 }` in the config)',
          ),
          { code: 'ERR_NO_DASHBOARD' },
        );
      }
      return address;
    },
    async call(request) {
      switch (request.method) {
        case 'info':
          return handlers.info();
        case 'status':
          return handlers.status();
        case 'metrics':
          return handlers.metrics();
        case 'prometheus':
          return handlers.prometheus();
        case 'dashboard':
          return handlers.dashboard();
        case 'list':
          return handlers.list();
        case 'primary':
          return handlers.primary(request.params);
        case 'failover':
          return handlers.failover(request.params);
        case 'restart':
          return handlers.restart(request.params);
        case 'stop':
          return handlers.stop(request.params);
        case 'reload':
          return handlers.reload();
      }
    },
  };
  return handlers;
}

// Recent events (filtered, the last `limit`), then, with `follow`, every later one that matches.
function events(context: ControlContext, params: ControlParams<'events'>, signal: AbortSignal): EventsAnswer {
  const types = params.types && params.types.length > 0 ? (params.types as string[]) : undefined;
  // Without a type filter, probes, metrics and debug logs are left out unless `all` asks for them.
  const matches = (event: TunnelmuxEvent) =>
    types
      ? types.includes(event.type)
      : Boolean(params.all) ||
        !(
          event.type === 'probe' ||
          event.type === 'metrics' ||
          (event.type === 'log' && event.level === 'debug')
        );
  const recent = context.recent().filter(matches);
  const limit = params.limit ?? 50;
  const replay = limit === 0 ? [] : recent.slice(-limit);
  if (!params.follow) return { replay };
  // Subscribe before replaying, so nothing falls between the two.
  const subscription = context.instance.events.subscribe((types ?? '*') as '*', undefined, {
    signal,
    bufferSize: 4096,
  });
  const lastSeq = recent.at(-1)?.seq ?? 0;
  async function* live(): AsyncIterable<TunnelmuxEvent> {
    for await (const event of subscription) {
      if (event.seq <= lastSeq || !matches(event)) continue;
      yield event;
    }
  }
  return { replay, live: live() };
}
