import { boundedDuration } from '@tunnelmux/core/config';
import { z } from 'zod';

// The `services:` block (issue 15): several front doors, each with its own target and paths, in one process.
// Its parts are passed in by schema.ts so each field is defined once for both config forms.

/** A service's name: it names the service in status, events and the Prometheus `service` label. */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const SERVICE_NAME_EXPECTED =
  'letters, digits, dot, dash or underscore (max 63, starting with a letter or digit)';

/** `priority` (default: the healthy path with the best priority) or `latency` (the fastest healthy path). */
export const strategy = z.enum(['priority', 'latency']).meta({
  description:
    'How new connections pick a path: priority (the best healthy priority) or latency (the lowest recent probe latency, with the margins and dwell set in failover).',
});

/** How long a removed path or service may keep its live connections after a reload. */
export const drain = boundedDuration({ max: 24 * 3_600_000 }).meta({
  description:
    'On reload, how long a removed or replaced path keeps its live connections before it is stopped (30s; at most 24h).',
});

/** The default drain, in milliseconds. */
export const DEFAULT_DRAIN_MS = 30_000;

/** The schema of one entry of `services:`, built from the same field schemas as the single-service form. */
export function serviceSchema<
  L extends z.ZodType,
  T extends z.ZodType,
  P extends z.ZodType,
  F extends z.ZodType,
  R extends z.ZodType,
  X extends z.ZodType,
>(fields: { listen: L; target: T; protocol: P; failover: F; resume: R; path: X }) {
  return z
    .object({
      listen: fields.listen.optional(),
      target: fields.target.optional(),
      protocol: fields.protocol.optional(),
      strategy: strategy.optional(),
      failover: fields.failover.optional().meta({
        description: 'Overrides the top-level failover defaults, field by field, for this service.',
      }),
      resume: fields.resume.optional(),
      drain: drain.optional(),
      paths: z.array(fields.path).min(1),
    })
    .strict()
    .meta({ description: 'One service: a front door (listen), where it leads (target) and its paths.' });
}

/** `services:` keyed by service name. */
export function servicesSchema<S extends z.ZodType>(service: S) {
  return z.record(z.string().regex(SERVICE_NAME, `must be ${SERVICE_NAME_EXPECTED}`), service).meta({
    // The loader refuses an empty map (services.ts); said here so editors and the schema agree with it.
    minProperties: 1,
    description:
      'Several services in one process, keyed by name (e.g. ssh, postgres, web). Without it, the top-level listen, target and paths are one service named "default".',
  });
}
