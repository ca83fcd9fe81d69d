import { z } from 'zod';
import { boundedDuration } from './duration';

// Bounds that keep every timer meaningful: a probe loop of at most an hour, waits of at most a day.
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;
const probeEvery = boundedDuration({ min: 10, max: HOUR });
const shortWait = boundedDuration({ max: 10 * MINUTE });
const longWait = boundedDuration({ max: DAY });

const TARGET_HINT = 'must be host:port such as 127.0.0.1:22 or [::1]:22, or { host, port }';
// The port is 1 to 65535 in the pattern itself, so the JSON Schema refuses what the loader refuses.
const HOST_PORT =
  /^(?:\[[^\]]+\]|[^:[\]\s]+):(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})$/;

/** `host:port`, `[v6]:port` or `{ host, port }`. */
export const target = z
  .union(
    [
      z.string().regex(HOST_PORT, TARGET_HINT),
      // Not strict: library callers pass objects that carry more, such as a test server.
      z.object({
        host: z.string().min(1, TARGET_HINT),
        port: z.number().int(TARGET_HINT).min(1, TARGET_HINT).max(65535, TARGET_HINT),
      }),
    ],
    { error: TARGET_HINT },
  )
  .transform((value, ctx): { host: string; port: number } => {
    if (typeof value !== 'string') return { host: value.host, port: value.port };
    const match = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:[\]\s]+):(\d+)$/.exec(value);
    const port = match ? Number(match[2]) : Number.NaN;
    if (match && port >= 1 && port <= 65535) return { host: match[1]!, port };
    ctx.addIssue({ code: 'custom', message: TARGET_HINT });
    return z.NEVER;
  })
  .meta({ description: 'Where the tunnels lead: host:port, [v6]:port or { host, port }.' });

export const protocol = z
  .enum(['ssh', 'tcp'])
  .meta({ description: 'ssh waits for the SSH banner (first-byte failover); tcp only connects.' });

// One issue per bad count: the bounds abort, so 1e308 is not also reported against the safe-integer limit.
const count = (what: string, fallback: number) =>
  z
    .number()
    .min(1, { abort: true, error: 'must be at least 1' })
    .max(100, { abort: true, error: 'must be at most 100' })
    .int('must be a whole number')
    .default(fallback)
    .meta({ description: `${what} (${fallback}; 1 to 100).` });

/** Failover settings; every duration is bounded so a typo cannot make a timer fire at once or never. */
export const failoverSchema = z
  .object({
    interval: probeEvery
      .default(2000)
      .meta({ description: 'Time between end-to-end probes of a steady path (2s; 10ms to 1h).' }),
    fastInterval: probeEvery
      .optional()
      .meta({ description: 'Probe interval while a path changes state (interval / 4; 10ms to 1h).' }),
    jitter: z
      .number()
      .min(0)
      .max(0.5)
      .default(0.1)
      .meta({ description: 'Spread of each probe interval, as a fraction (0.1 = ±10%).' }),
    timeout: shortWait
      .default(1000)
      .meta({ description: 'Longest a probe may take, including the banner for ssh (1s; at most 10m).' }),
    maxLatency: shortWait
      .default(500)
      .meta({ description: 'A slower probe counts as a failure (500ms; at most 10m).' }),
    fall: count('Consecutive failures that mark a path down', 3),
    rise: count('Consecutive successes that mark a reopened path up', 2),
    autoRecover: z
      .boolean()
      .default(true)
      .meta({ description: 'Fail back to a better path once it is back (damped by rise and minDwell).' }),
    minDwell: longWait.default(10_000).meta({
      description: 'How long a recovered better path must stay up before failback (10s; at most 24h).',
    }),
    firstByteTimeout: shortWait
      .default(2000)
      .meta({ description: 'First-byte failover wait for ssh targets at the front door (2s; at most 10m).' }),
    openTimeout: boundedDuration({ max: HOUR })
      .default(30_000)
      .meta({ description: 'Longest a provider may take to open a path (30s; at most 1h).' }),
    backoffInitial: boundedDuration({ max: HOUR }).default(500).meta({
      description: 'First restart delay, doubled per attempt with full jitter (500ms; at most 1h).',
    }),
    backoffMax: longWait.default(30_000).meta({ description: 'Longest restart delay (30s; at most 24h).' }),
    stableAfter: longWait
      .default(60_000)
      .meta({ description: 'A path up this long is stable: its backoff resets (60s; at most 24h).' }),
    drainBeforeRestart: longWait.default(10_000).meta({
      description:
        'A failing path is restarted once its live connections are gone, or after this long (10s; at most 24h).',
    }),
    strategy: z.enum(['priority', 'latency']).default('priority').meta({
      description:
        'priority: the healthy path with the best priority leads. latency: the healthy path with the lowest recent probe latency leads (damped by latencyMargin, latencyMarginPercent and latencyDwell).',
    }),
    latencyMargin: shortWait.default(5).meta({
      description:
        'latency strategy: another path must be faster by at least this much (and by latencyMarginPercent) to take over (5ms).',
    }),
    latencyMarginPercent: z.number().min(0).max(1000).default(20).meta({
      description:
        'latency strategy: another path must be faster by at least this percentage of the current latency (and by latencyMargin) to take over (20).',
    }),
    latencyDwell: longWait.default(10_000).meta({
      description:
        'latency strategy: how long another path must stay faster by the margin before traffic moves to it (10s; at most 24h).',
    }),
  })
  .strict();

/** How a service chooses its primary: strict priority (default) or lowest recent probe latency. */
export type RoutingStrategy = 'priority' | 'latency';

/** A provider id, as `defineProvider` allows them. */
export const providerId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a provider id such as tailscale, cloudflare, ngrok or ssh')
  .meta({ description: 'The provider id: tailscale, cloudflare, ngrok, ssh, or a plugin.' });

/** A path id: letters, digits, dot, dash, underscore. */
export const pathId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    'must be letters, digits, dot, dash or underscore (max 63, starting with a letter or digit)',
  )
  .meta({ description: 'A short name: letters, digits, dot, dash, underscore.' });

/** A service name: letters, digits, dot, dash, underscore (the single-service form is `default`). */
export const serviceName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
    'must be letters, digits, dot, dash or underscore (max 63, starting with a letter or digit)',
  )
  .meta({ description: 'A service name: letters, digits, dot, dash, underscore.' });

/** One path: one provider, one configuration, one priority. */
export const pathSchema = z
  .object({
    id: pathId,
    provider: providerId,
    priority: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Lower is preferred; list order by default.' }),
    mode: z.enum(['access', 'expose']).default('access'),
    target: target.optional().meta({ description: 'Overrides the top-level target for this path.' }),
    protocol: protocol.optional(),
    options: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({ description: "The provider's own options." }),
  })
  .strict();

export type FailoverInput = z.input<typeof failoverSchema>;
export type FailoverSettings = z.output<typeof failoverSchema>;
export type PathSpecInput = z.input<typeof pathSchema>;
export type PathSpec = z.output<typeof pathSchema>;
