import { z } from '@hono/zod-openapi';

// The shapes the API answers with, in zod: the routes use them and the OpenAPI document is generated from them.
// Objects are open (extra fields allowed) so that a newer core adding a field never breaks a client.

export const ErrorBody = z
  .object({
    error: z.object({
      message: z.string().openapi({ example: '[tunnelmux] no service "web"; known services: default' }),
      code: z.string().openapi({ example: 'ERR_NO_SERVICE' }),
    }),
  })
  .openapi('Error', { description: 'Every error: the same wording as the CLI, and a code to branch on.' });

const Latency = z
  .looseObject({
    last: z.number().optional(),
    p50: z.number().optional(),
    p95: z.number().optional(),
    p99: z.number().optional(),
    samples: z.number().int(),
  })
  .openapi('Latency', { description: 'Probe latency in milliseconds over a recent window.' });

export const PathStatus = z
  .looseObject({
    id: z.string(),
    provider: z.string(),
    mode: z.enum(['access', 'expose']),
    state: z.enum(['disconnected', 'connecting', 'connected', 'reconnecting', 'failed']),
    priority: z.number(),
    primary: z.boolean(),
    pinned: z.boolean(),
    target: z.string(),
    protocol: z.string(),
    pid: z.number().int().optional(),
    endpoint: z.string().optional(),
    publicUrl: z.string().optional(),
    latencyMs: z.number().optional(),
    latency: Latency,
    consecutiveFailures: z.number().int(),
    consecutiveSuccesses: z.number().int(),
    bytesIn: z.number(),
    bytesOut: z.number(),
    activeConnections: z.number().int(),
    totalConnections: z.number().int(),
    failedDials: z.number().int(),
    restarts: z.number().int(),
    uptimeMs: z.number(),
    since: z.number(),
    lastActive: z.number().optional(),
    lastError: z.string().optional(),
    lastExit: z.looseObject({}).optional(),
    nextAttemptAt: z.number().optional(),
    hint: z.looseObject({ ok: z.boolean(), detail: z.string().optional() }).optional(),
  })
  .openapi('Path', { description: 'One path: state, priority, primary, latency, traffic, restarts.' });

const LiveSession = z
  .looseObject({
    session: z.string(),
    client: z.string(),
    path: z.string().optional(),
    attached: z.boolean(),
    openedAt: z.number(),
    resumes: z.number().int(),
    bytesIn: z.number(),
    bytesOut: z.number(),
  })
  .openapi('Session', { description: 'A live resumable session (only with `resume:`).' });

export const ServiceStatus = z
  .looseObject({
    name: z.string(),
    primary: z.string().optional(),
    pinned: z.string().optional(),
    autoFailover: z.boolean().optional(),
    degraded: z.boolean().optional(),
    paths: z.array(PathStatus),
    sessions: z.array(LiveSession).optional(),
  })
  .openapi('Service', { description: 'One service: its paths and who is primary.' });

export const Status = z
  .looseObject({
    primary: z.string().optional(),
    autoFailover: z.boolean().optional(),
    degraded: z.boolean().optional(),
    paths: z.array(PathStatus).optional(),
    sessions: z.array(LiveSession).optional(),
    services: z.array(ServiceStatus),
  })
  .openapi('Status', {
    description: 'The instance as `tunnelmux status --json` shows it, with `services` always present.',
  });

export const Paths = z.array(PathStatus).openapi('Paths');

export const PrimaryBody = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/)
      .nullable()
      .openapi({ description: 'The path to pin as primary; null clears the pin.', example: 'cf' }),
  })
  .openapi('PrimaryRequest');

export const FailoverBody = z
  .strictObject({
    enabled: z.boolean().optional().openapi({
      description:
        'Leave out to fail over now (away from the primary); true/false turns automatic failover on/off.',
    }),
  })
  .openapi('FailoverRequest');

export const ServiceParam = z.object({
  service: z
    .string()
    .max(63)
    .openapi({ param: { name: 'service', in: 'path' }, example: 'default' }),
});

export const PathParam = ServiceParam.extend({
  id: z
    .string()
    .max(63)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'cf' }),
});

export const HistoryQuery = z.object({
  service: z.string().max(63).optional(),
  path: z.string().max(63).optional(),
  since: z.coerce.number().int().min(0).optional().openapi({ description: 'Epoch ms.' }),
  until: z.coerce.number().int().min(0).optional().openapi({ description: 'Epoch ms.' }),
  limit: z.coerce.number().int().min(1).max(100_000).optional(),
});

export const Anything = z.looseObject({}).openapi('HistoryAnswer', {
  description:
    "What the instance's history answers, as `tunnelmux history --json` / `report --json` print it.",
});
