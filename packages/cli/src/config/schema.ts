import { z } from 'zod';

// Kept in step with core's duration parser (ms): a number of milliseconds or text such as 500ms, 2s, 1m.
const DURATION =
  /^\s*\d+(?:\.\d+)?\s*(?:ms|msecs?|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)?\s*$/i;

/** `500ms`, `2s`, `1m` or a number of milliseconds. */
export const duration = z
  .union([z.number().min(0), z.string().regex(DURATION)])
  .meta({ description: 'A duration: 500ms, 2s, 1m, or a number of milliseconds.' });

// The issue text zod gives a failed union is vague; the loader replaces it with this.
export const DURATION_EXPECTED = 'a duration such as 500ms, 2s or 1m (or a number of milliseconds)';
export const TARGET_EXPECTED = 'host:port such as devbox.internal:22 or [::1]:22';

const HOST_PORT =
  /^(?:\[[^\]]+\]|[^:[\]\s]+):(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})$/;

/** `host:port`, `[v6]:port` or `{ host, port }`. */
export const target = z
  .union([
    z.string().regex(HOST_PORT),
    z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict(),
  ])
  .meta({ description: 'Where the tunnels lead: host:port, [v6]:port or { host, port }.' });

// Port 0 asks for any free port (its address is printed once ready).
const LISTEN =
  /^(?:\[[^\]]+\]|[^:[\]\s]+):(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}|0)$/;

/** The front door's address: `host:port` or a port number (host 127.0.0.1). */
export const listen = z.union([z.string().regex(LISTEN), z.number().int().min(0).max(65535)]).meta({
  description: 'The stable local address clients use: 127.0.0.1:2222, or a port number (0: any free port).',
});

export const failover = z
  .object({
    interval: duration.optional().meta({ description: 'Time between end-to-end probes (default 2s).' }),
    fastInterval: duration.optional().meta({ description: 'Probe interval while a path changes state.' }),
    jitter: z
      .number()
      .min(0)
      .max(0.5)
      .optional()
      .meta({ description: 'Spread of each interval (0.1 = ±10%).' }),
    timeout: duration.optional().meta({ description: 'Longest a probe may take (default 1s).' }),
    maxLatency: duration
      .optional()
      .meta({ description: 'A slower probe counts as a failure (default 500ms).' }),
    fall: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .meta({ description: 'Failures that mark a path down (3).' }),
    rise: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .meta({ description: 'Successes that mark a path up (2).' }),
    autoRecover: z.boolean().optional().meta({ description: 'Fail back to a better path once it is back.' }),
    minDwell: duration
      .optional()
      .meta({ description: 'How long a recovered path must stay up before failback.' }),
    firstByteTimeout: duration
      .optional()
      .meta({ description: 'First-byte failover wait for ssh targets (2s).' }),
    openTimeout: duration
      .optional()
      .meta({ description: 'Longest a provider may take to open a path (30s).' }),
    backoffInitial: duration.optional().meta({ description: 'First restart delay (500ms).' }),
    backoffMax: duration.optional().meta({ description: 'Longest restart delay (30s).' }),
    stableAfter: duration.optional().meta({ description: 'Uptime after which backoff resets (60s).' }),
  })
  .strict();

const PATH_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const path = z
  .object({
    id: z
      .string()
      .regex(PATH_ID)
      .meta({ description: 'A short name: letters, digits, dot, dash, underscore.' }),
    provider: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,39}$/)
      .meta({ description: 'The provider id: tailscale, cloudflare, ngrok, ssh, or a plugin.' }),
    priority: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Lower is preferred; list order by default.' }),
    mode: z.enum(['access', 'expose']).optional(),
    target: target.optional().meta({ description: 'Overrides the top-level target for this path.' }),
    protocol: z.enum(['ssh', 'tcp']).optional(),
    options: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "The provider's own options." }),
  })
  .strict();

/** Server side: publish one local port through several providers at once (one expose path each). */
export const expose = z
  .object({
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .meta({ description: 'The local port to publish, e.g. 22 for sshd.' }),
    host: z.string().min(1).optional().meta({ description: 'The local service host (default 127.0.0.1).' }),
    via: z
      .array(z.string().regex(/^[a-z][a-z0-9-]{0,39}$/))
      .min(1)
      .meta({ description: 'The providers to publish through, e.g. [cloudflare, ngrok, tailscale].' }),
    options: z
      .record(z.string(), z.record(z.string(), z.unknown()))
      .optional()
      .meta({ description: "Each provider's own options, by provider id." }),
  })
  .strict();

/** The whole `tunnelmux.yaml`. */
export const configSchema = z
  .object({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/)
      .optional()
      .meta({ description: 'Names this instance and its control socket (default "default").' }),
    listen: listen.optional(),
    target: target.optional(),
    protocol: z
      .enum(['ssh', 'tcp'])
      .optional()
      .meta({ description: 'ssh waits for the SSH banner; tcp connects.' }),
    failover: failover.optional(),
    plugins: z
      .array(z.string().min(1))
      .optional()
      .meta({ description: 'Provider modules or packages to load first, relative to this file.' }),
    paths: z.array(path).min(1).optional(),
    expose: expose.optional(),
  })
  .strict()
  .meta({ title: 'tunnelmux config', description: 'One stable local port over several tunnels.' });

/** A loaded config: `paths` always present, the `expose` section already expanded into expose paths. */
export type Config = Omit<z.output<typeof configSchema>, 'paths'> & { paths: PathConfig[] };
export type ExposeConfig = z.output<typeof expose>;
export type PathConfig = z.output<typeof path>;
export type TargetConfig = z.output<typeof target>;
