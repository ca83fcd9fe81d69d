import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { EVENT_TYPES } from '@tunnelmux/core/events';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import { DashboardError, errorResponse } from './errors';
import type { EventRing, Numbered } from './event-ring';
import type { PageAssets } from './page';
import {
  Anything,
  ErrorBody,
  FailoverBody,
  HistoryQuery,
  PathParam,
  PathStatus,
  Paths,
  PrimaryBody,
  ServiceParam,
  Status,
} from './schemas';
import { type AppEnv, checkHost, checkOrigin, requireToken, securityHeaders } from './security';
import type { DashboardHandlers, HistoryProvider } from './types';

/** Bounds that keep a page left open, or a hostile client, from exhausting the instance. */
export interface DashboardLimits {
  /** Event streams served at once; the next one is answered 503. */
  maxStreams: number;
  /** The largest request body, in bytes. */
  maxBodyBytes: number;
  /** The largest request head (request line and headers), in bytes. */
  maxHeaderBytes: number;
  /** HTTP connections open at once. */
  maxConnections: number;
  /** Recent events kept for `Last-Event-ID` resume. */
  ringSize: number;
  /** A comment line on an idle event stream this often, so proxies and browsers keep it open. */
  heartbeatMs: number;
}

export const DEFAULT_LIMITS: DashboardLimits = {
  maxStreams: 16,
  maxBodyBytes: 16 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 128,
  ringSize: 2048,
  heartbeatMs: 15_000,
};

export interface AppOptions {
  handlers: DashboardHandlers;
  ring: EventRing;
  token: string;
  cookie: string;
  allowed: () => Set<string>;
  history?: HistoryProvider;
  limits: DashboardLimits;
  page: PageAssets;
}

/** The open event streams, so they can be counted and ended. */
export interface Streams {
  readonly open: Set<() => void>;
}

interface ServiceView {
  name: string;
  paths: { id: string; state: string; priority: number; primary: boolean }[];
  primary?: string;
  [key: string]: unknown;
}

/** The services of a status: its own `services` list when it has one, else the single `default` service. */
export function servicesOf(status: unknown, name = 'default'): ServiceView[] {
  const record = (status ?? {}) as Record<string, unknown>;
  if (Array.isArray(record.services)) return record.services as ServiceView[];
  const { services: _ignored, ...rest } = record;
  // A one-service answer (after `primary` on service `name`) is that service, not `default`.
  return [{ ...rest, name, paths: (record.paths as ServiceView['paths']) ?? [] }];
}

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

const errors = {
  400: json(ErrorBody, 'The request is malformed: the message names the field and what it must be.'),
  401: json(ErrorBody, 'No token, or not this instance’s.'),
  403: json(ErrorBody, 'A Host or Origin this dashboard does not answer to.'),
  404: json(ErrorBody, 'No such service or path.'),
};

const security: Record<string, string[]>[] = [{ bearer: [] }, { cookie: [] }];

const routes = {
  status: createRoute({
    method: 'get',
    path: '/api/v1/status',
    summary: 'The instance, as `tunnelmux status --json` shows it',
    security,
    responses: { 200: json(Status, 'Every service and path.'), ...errors },
  }),
  paths: createRoute({
    method: 'get',
    path: '/api/v1/services/{service}/paths',
    summary: "One service's paths",
    security,
    request: { params: ServiceParam },
    responses: { 200: json(Paths, 'Its paths, by priority.'), ...errors },
  }),
  primary: createRoute({
    method: 'post',
    path: '/api/v1/services/{service}/primary',
    summary: 'Pin a connected path as primary (`tunnelmux primary <id>`), or clear the pin with null',
    security,
    request: {
      params: ServiceParam,
      body: { content: { 'application/json': { schema: PrimaryBody } }, required: true },
    },
    responses: {
      200: json(Status, 'The status after the change.'),
      ...errors,
      409: json(ErrorBody, 'The path cannot be primary now (not connected).'),
    },
  }),
  failover: createRoute({
    method: 'post',
    path: '/api/v1/services/{service}/failover',
    summary:
      'Fail over now to the next connected path by priority; or with `enabled`, turn automatic failover on or off',
    security,
    request: {
      params: ServiceParam,
      body: { content: { 'application/json': { schema: FailoverBody } }, required: true },
    },
    responses: {
      200: json(Status, 'The status after the change.'),
      ...errors,
      409: json(ErrorBody, 'No other connected path to fail over to.'),
    },
  }),
  restart: createRoute({
    method: 'post',
    path: '/api/v1/services/{service}/paths/{id}/restart',
    summary: 'Close and reopen one path (`tunnelmux restart <id>`)',
    security,
    request: { params: PathParam },
    responses: { 200: json(PathStatus, 'The path once reopened.'), ...errors },
  }),
  events: createRoute({
    method: 'get',
    path: '/api/v1/events',
    summary: 'Live events as Server-Sent Events; reconnect with Last-Event-ID to get what was missed',
    description:
      'Each event is one `data:` line of JSON with an `id:`. A client resuming after an id the server no longer ' +
      'holds first gets an `event: gap` saying which ids were lost. `recent` replays that many recent events first.',
    security,
    request: {
      query: z.object({
        types: z.string().max(1000).optional().openapi({ description: 'Comma-separated event types.' }),
        recent: z.coerce.number().int().min(0).max(100_000).optional(),
        lastEventId: z.coerce.number().int().min(0).optional().openapi({
          description: 'Same as the Last-Event-ID header, for clients that cannot set it.',
        }),
      }),
      headers: z.object({ 'last-event-id': z.string().max(20).optional() }),
    },
    responses: {
      200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'An event stream.' },
      ...errors,
      503: json(ErrorBody, 'Too many event streams are open.'),
    },
  }),
  history: createRoute({
    method: 'get',
    path: '/api/v1/history',
    summary: 'Past events and samples from the persistent history (`tunnelmux history`)',
    security,
    request: { query: HistoryQuery },
    responses: {
      200: json(Anything, 'What the history holds.'),
      ...errors,
      501: json(ErrorBody, 'This instance keeps no history.'),
    },
  }),
  report: createRoute({
    method: 'get',
    path: '/api/v1/report',
    summary: 'Availability per day and path from the persistent history (`tunnelmux report`)',
    security,
    request: { query: HistoryQuery },
    responses: {
      200: json(Anything, 'The report.'),
      ...errors,
      501: json(ErrorBody, 'This instance keeps no history.'),
    },
  }),
};

/** The dashboard's HTTP app: the API under /api/v1, /metrics, the page, and the checks in front of them all. */
export function createApp(options: AppOptions, streams: Streams): OpenAPIHono<AppEnv> {
  const { handlers, ring, limits, page } = options;
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return errorResponse(c, badRequest(result.error));
    },
  });
  app.onError((error, c) => errorResponse(c, error));
  app.notFound((c) =>
    errorResponse(
      c,
      new DashboardError(
        `[tunnelmux] no ${c.req.method} ${c.req.path.slice(0, 200)}; the API is listed at /api/v1/openapi.json`,
        'ERR_NOT_FOUND',
      ),
    ),
  );
  app.use('*', securityHeaders());
  app.use('*', checkHost(options.allowed));
  app.use('*', requireToken(options.token, options.cookie));
  app.use('*', checkOrigin(options.allowed));
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: limits.maxBodyBytes,
      onError: (c) =>
        errorResponse(
          c,
          new DashboardError(
            `[tunnelmux] the request body is larger than ${limits.maxBodyBytes} bytes; send a small JSON object`,
            'ERR_BODY_TOO_LARGE',
          ),
        ),
    }),
  );

  const service = (name: string): ServiceView => {
    const services = servicesOf(handlers.status());
    const found = services.find((s) => s.name === name);
    if (!found) {
      throw new DashboardError(
        `[tunnelmux] no service ${JSON.stringify(name)}; known services: ${services.map((s) => s.name).join(', ')}`,
        'ERR_NO_SERVICE',
      );
    }
    return found;
  };
  const withServices = (status: unknown, name?: string) => ({
    ...(status as Record<string, unknown>),
    services: servicesOf(status, name),
  });

  app.openapi(routes.status, (c) => c.json(withServices(handlers.status()) as never, 200));

  app.openapi(routes.paths, (c) => {
    const { service: name } = c.req.valid('param');
    service(name);
    return c.json(handlers.list(name) as never, 200);
  });

  app.openapi(routes.primary, async (c) => {
    const { service: name } = c.req.valid('param');
    const { id } = c.req.valid('json');
    if (id !== null) knownPath(service(name), id);
    else service(name);
    return c.json(withServices(await handlers.primary({ id }, name), name) as never, 200);
  });

  app.openapi(routes.failover, async (c) => {
    const { service: name } = c.req.valid('param');
    const { enabled } = c.req.valid('json');
    const view = service(name);
    if (enabled !== undefined)
      return c.json(withServices(await handlers.failover({ enabled }, name), name) as never, 200);
    // "Fail over now": the best connected path other than the primary, by priority, through the same `primary`.
    const next = [...view.paths]
      .filter((p) => p.state === 'connected' && !p.primary)
      .sort((a, b) => a.priority - b.priority)[0];
    if (!next) {
      throw new DashboardError(
        `[tunnelmux] cannot fail over service ${JSON.stringify(name)}: no other path is connected ` +
          `(${view.paths.map((p) => `${p.id} ${p.state}`).join(', ') || 'no paths'})`,
        'ERR_STATE',
      );
    }
    return c.json(withServices(await handlers.primary({ id: next.id }, name), name) as never, 200);
  });

  app.openapi(routes.restart, async (c) => {
    const { service: name, id } = c.req.valid('param');
    knownPath(service(name), id);
    return c.json((await handlers.restart({ id }, name)) as never, 200);
  });

  app.openapi(routes.history, async (c) => {
    const history = requireHistory(options.history);
    return c.json((await history.history(c.req.valid('query'))) as never, 200);
  });
  app.openapi(routes.report, async (c) => {
    const history = requireHistory(options.history);
    return c.json((await history.report(c.req.valid('query'))) as never, 200);
  });

  app.openapi(routes.events, (c) => {
    const query = c.req.valid('query');
    const header = c.req.valid('header')['last-event-id'];
    const resumeFrom = header !== undefined && /^\d+$/.test(header) ? Number(header) : query.lastEventId;
    const types = query.types ? new Set(query.types.split(',').filter(Boolean)) : undefined;
    const unknown = [...(types ?? [])].filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0) {
      throw new DashboardError(
        `[tunnelmux] bad request: unknown event type ${unknown.map((t) => JSON.stringify(t.slice(0, 40))).join(', ')}; ` +
          `expected ${EVENT_TYPES.join(', ')}`,
        'ERR_BAD_REQUEST',
      );
    }
    if (streams.open.size >= limits.maxStreams) {
      throw new DashboardError(
        `[tunnelmux] ${streams.open.size} event streams are open, the most this dashboard serves at once; ` +
          'close a dashboard tab (or an `events` client) and try again',
        'ERR_BUSY',
      );
    }
    // The slot is taken now, before the stream starts, so concurrent requests cannot all slip under the cap.
    const slot: Slot = { ended: false };
    const end = () => {
      slot.ended = true;
      slot.wake?.();
    };
    streams.open.add(end);
    return streamSSE(c, (stream) =>
      serveEvents(stream, slot, { ring, types, resumeFrom, recent: query.recent ?? 0, limits }).finally(() =>
        streams.open.delete(end),
      ),
    ) as never;
  });

  app.get('/metrics', async (c) => {
    const { contentType, text } = await handlers.prometheus();
    return c.body(text, 200, { 'Content-Type': contentType });
  });

  app.doc31('/api/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'tunnelmux dashboard API',
      version: '1',
      description:
        'The control socket’s operations over HTTP. Every call needs the instance’s token: ' +
        '`Authorization: Bearer <token>`, or the cookie the page sets.',
    },
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'cookie', {
    type: 'apiKey',
    in: 'cookie',
    name: options.cookie,
  });

  app.get('/', (c) => c.html(page.index));
  app.get('/assets/:file', (c) => {
    const asset = page.assets.get(c.req.param('file'));
    if (!asset)
      throw new DashboardError(`[tunnelmux] no asset ${c.req.param('file').slice(0, 100)}`, 'ERR_NOT_FOUND');
    return c.body(asset.body, 200, { 'Content-Type': asset.type });
  });
  return app;
}

function knownPath(view: ServiceView, id: string): void {
  if (!view.paths.some((p) => p.id === id)) {
    throw new DashboardError(
      `[tunnelmux] no path ${JSON.stringify(id)} in service ${JSON.stringify(view.name)}; known paths: ` +
        (view.paths.map((p) => p.id).join(', ') || 'none'),
      'ERR_NO_PATH',
    );
  }
}

function requireHistory(history: HistoryProvider | undefined): HistoryProvider {
  if (history) return history;
  throw new DashboardError(
    '[tunnelmux] this instance keeps no history, so there is nothing to show; ' +
      'history and report are served where the instance records its history',
    'ERR_NO_HISTORY',
  );
}

// The first problem, naming the field, what it must be and what it was: the control socket's wording.
function badRequest(error: z.ZodError): DashboardError {
  const issue = error.issues[0];
  const field = issue?.path.join('.') || 'body';
  if (issue?.code === 'unrecognized_keys') {
    return new DashboardError(
      `[tunnelmux] bad request: "${issue.keys[0]}" is not a known field`,
      'ERR_BAD_REQUEST',
    );
  }
  return new DashboardError(
    `[tunnelmux] bad request: "${field}" ${issue?.message ?? 'was refused'}`,
    'ERR_BAD_REQUEST',
  );
}

interface StreamContext {
  ring: EventRing;
  types?: Set<string>;
  resumeFrom?: number;
  recent: number;
  limits: DashboardLimits;
}

/** One open stream's state: ended by the client, the server (closeStreams) or a full backlog. */
interface Slot {
  ended: boolean;
  wake?: () => void;
}

// Per-client backlog; a client this far behind is cut off and resumes from the ring (or learns of a gap).
const BACKLOG = 4096;

async function serveEvents(
  stream: Parameters<Parameters<typeof streamSSE>[1]>[0],
  slot: Slot,
  { ring, types, resumeFrom, recent, limits }: StreamContext,
): Promise<void> {
  const queue: Numbered[] = [];
  const end = () => {
    slot.ended = true;
    slot.wake?.();
  };
  stream.onAbort(end);
  if (stream.aborted) end();
  // Listen before reading the ring, so nothing falls between the two; ids already sent are skipped.
  const off = ring.listen((item) => {
    if (queue.length >= BACKLOG) end();
    else queue.push(item);
    slot.wake?.();
  });
  // An id from the future was issued by another instance (this one restarted): everything kept is news.
  const foreign = resumeFrom !== undefined && resumeFrom > ring.last;
  let sent = foreign ? 0 : (resumeFrom ?? Math.max(0, ring.last - recent));
  try {
    await stream.writeSSE({ event: 'hello', data: JSON.stringify({ last: ring.last }), retry: 1000 });
    const { missed, gap } = ring.since(sent);
    if (foreign) {
      await stream.writeSSE({
        event: 'gap',
        data: JSON.stringify({
          after: resumeFrom,
          oldest: missed[0]?.id ?? ring.last + 1,
          message:
            `[tunnelmux] event ${resumeFrom} is not one of this instance's (it numbers up to ${ring.last}; ` +
            'it restarted?); this stream starts again from the oldest event kept: reload the status to be current',
        }),
      });
    } else if (gap) {
      await stream.writeSSE({
        event: 'gap',
        data: JSON.stringify({
          after: gap.after,
          oldest: gap.oldest,
          message:
            `[tunnelmux] events ${gap.after + 1} to ${gap.oldest - 1} are no longer kept (the last ` +
            `${ring.size} are); this stream resumes at ${gap.oldest}: reload the status to be current`,
        }),
      });
    }
    queue.unshift(...missed);
    while (!slot.ended) {
      for (let item = queue.shift(); item && !slot.ended; item = queue.shift()) {
        if (item.id <= sent) continue;
        sent = item.id;
        if (types && !types.has(item.event.type)) continue;
        await stream.writeSSE({ id: String(item.id), data: JSON.stringify(item.event) });
      }
      if (slot.ended) break;
      const idle = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), limits.heartbeatMs);
        slot.wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      slot.wake = undefined;
      if (idle && !slot.ended) await stream.write(': ping\n\n');
    }
  } finally {
    off();
  }
}
