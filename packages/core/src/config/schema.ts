import { z } from 'zod';
import { duration } from './duration';

const TARGET_HINT = 'must be host:port such as 127.0.0.1:22 or [::1]:22, or { host, port }';

/** `host:port`, `[v6]:port` or `{ host, port }`. */
export const target = z.unknown().transform((value, ctx): { host: string; port: number } => {
  if (typeof value === 'string') {
    const match = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]]+):(\d+)$/.exec(value);
    const port = match ? Number(match[2]) : Number.NaN;
    if (match && port >= 1 && port <= 65535) return { host: match[1]!, port };
  } else if (value && typeof value === 'object') {
    const { host, port } = value as { host?: unknown; port?: unknown };
    if (
      typeof host === 'string' &&
      host.length > 0 &&
      Number.isInteger(port) &&
      Number(port) >= 1 &&
      Number(port) <= 65535
    ) {
      return { host, port: Number(port) };
    }
  }
  ctx.addIssue({ code: 'custom', message: TARGET_HINT });
  return z.NEVER;
});

export const protocol = z.enum(['ssh', 'tcp']);

export const failoverSchema = z
  .object({
    /** Time between end-to-end probes of a steady path. */
    interval: duration.default(2000),
    /** Time between probes while a path is changing state; default interval / 4. */
    fastInterval: duration.optional(),
    /** Spread of each probe interval, as a fraction (0.1 = ±10%). */
    jitter: z.number().min(0).max(0.5).default(0.1),
    /** Longest a probe may take, including the banner for `ssh`. */
    timeout: duration.default(1000),
    /** A probe slower than this counts as a failure. */
    maxLatency: duration.default(500),
    /** Consecutive failures that mark a path down. */
    fall: z.number().int().min(1).max(100).default(3),
    /** Consecutive successes that mark a reopened path up. */
    rise: z.number().int().min(1).max(100).default(2),
    /** Return to a better path once it is back (damped by rise and minDwell). */
    autoRecover: z.boolean().default(true),
    /** How long a recovered better path must stay up before the primary fails back to it. */
    minDwell: duration.default(10_000),
    /** First-byte failover wait for `ssh` targets (front door). */
    firstByteTimeout: duration.default(2000),
    /** Longest a provider may take to open a path. */
    openTimeout: duration.default(30_000),
    /** First restart delay; doubled per attempt with full jitter. */
    backoffInitial: duration.default(500),
    /** Longest restart delay. */
    backoffMax: duration.default(30_000),
    /** A path up this long is stable: its backoff and flap count reset. */
    stableAfter: duration.default(60_000),
    /** A path whose probes fail is restarted once its live connections are gone, or after this long. */
    drainBeforeRestart: duration.default(10_000),
  })
  .strict();

export const pathSchema = z
  .object({
    id: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
        'must be letters, digits, dot, dash or underscore (max 63)',
      ),
    provider: z.string().min(1),
    priority: z.number().int().min(0).optional(),
    mode: z.enum(['access', 'expose']).default('access'),
    target: target.optional(),
    protocol: protocol.optional(),
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type FailoverInput = z.input<typeof failoverSchema>;
export type FailoverSettings = z.output<typeof failoverSchema>;
export type PathSpecInput = z.input<typeof pathSchema>;
export type PathSpec = z.output<typeof pathSchema>;
