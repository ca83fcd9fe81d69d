import {
  boundedDuration,
  failoverSchema,
  pathSchema,
  protocolSchema,
  targetSchema,
} from '@tunnelmux/core/config';
import { z } from 'zod';
import { dashboardConfig } from '../dashboard/config';
import { historySchema, stateSchema } from '../history/config';
import { onSchema } from '../hooks/schema';
import { drain, serviceSchema, servicesSchema, strategy } from './services-schema';

// Core owns the path and failover schemas; this file adds only what the CLI itself reads (listen, plugins,
// expose, name), so a field core accepts can never be refused here.

export const TARGET_EXPECTED = 'host:port such as devbox.internal:22 or [::1]:22';

/** `host:port`, `[v6]:port` or `{ host, port }`. */
export const target = targetSchema;

// Port 0 asks for any free port (its address is printed once ready).
const LISTEN =
  /^(?:\[[^\]]+\]|[^:[\]\s]+):(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}|0)$/;

/** The front door's address: `host:port` or a port number (host 127.0.0.1). */
export const listen = z.union([z.string().regex(LISTEN), z.number().int().min(0).max(65535)]).meta({
  description: 'The stable local address clients use: 127.0.0.1:2222, or a port number (0: any free port).',
});

export const failover = failoverSchema;

export const path = pathSchema;

/** Server side: publish one local port through several providers at once (one expose path each). */
export const exposePort = z
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

/** One port, or a list of ports (path ids then become `<provider>-<port>`). */
export const expose = z.union([exposePort, z.array(exposePort).min(1)]).meta({
  description:
    'Publish local ports through several providers: one { port, via } or a list of them (ids become provider-port).',
});

/** Client side of resumable sessions: every path leads to a `tunnelmux relay` holding the same key. */
export const resume = z
  .object({
    keyFile: z
      .string()
      .min(1)
      .meta({ description: 'The shared key (tunnelmux keygen), mode 0600, relative to this file.' }),
    window: boundedDuration({ min: 1000, max: 24 * 3_600_000 })
      .optional()
      .meta({
        description: "How long to keep resuming a session whose path died (60s; at most the relay's).",
      }),
    heartbeat: boundedDuration({ min: 10, max: 60_000 }).optional().meta({
      description: 'Heartbeat when a carrier is idle (1s); silence for 3 heartbeats is a dead carrier.',
    }),
    buffer: z
      .number()
      .int()
      .min(64 * 1024)
      .max(1024 * 1024 * 1024)
      .optional()
      .meta({
        description: 'Replay buffer per direction, in bytes (4194304 = 4 MiB); full means back-pressure.',
      }),
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
    protocol: protocolSchema.optional(),
    failover: failover.optional(),
    plugins: z
      .array(z.string().min(1))
      .optional()
      .meta({ description: 'Provider modules or packages to load first, relative to this file.' }),
    paths: z.array(path).min(1).optional(),
    expose: expose.optional(),
    resume: resume.optional(),
    strategy: strategy.optional(),
    drain: drain.optional(),
    services: servicesSchema(
      serviceSchema({ listen, target, protocol: protocolSchema, failover, resume, path }),
    ).optional(),
    on: onSchema.optional(),
    dashboard: dashboardConfig.optional(),
    state: stateSchema.optional(),
    history: historySchema.optional(),
  })
  .strict()
  .meta({ title: 'tunnelmux config', description: 'One stable local port over several tunnels.' });

/**
 * A loaded config: `paths` always present (every service's paths, in file order), the `expose` section already
 * expanded into expose paths. `services` is the same config as one list, the shape everything that runs reads.
 */
export type Config = Omit<z.output<typeof configSchema>, 'paths' | 'services'> & {
  paths: PathConfig[];
  services: ServiceConfig[];
};
export type ExposeConfig = z.output<typeof exposePort>;
export type FailoverConfig = z.output<typeof failover>;

/** One service as it runs: the single-service form is one named "default". */
export interface ServiceConfig {
  name: string;
  listen?: string | number;
  target?: TargetConfig;
  protocol?: 'ssh' | 'tcp';
  strategy?: 'priority' | 'latency';
  /** The top-level failover defaults merged field by field with the service's own, defaults filled in. */
  failover: FailoverConfig;
  resume?: ResumeConfig;
  /** Milliseconds. */
  drain: number;
  paths: PathConfig[];
  /** Where the service is written: `['services', name]`, or `[]` for the single-service form. */
  field: PropertyKey[];
  /** Where each path is written (an expose path points at its `expose` entry), by index in `paths`. */
  pathFields: PropertyKey[][];
  /** Where each path's options are written, by index in `paths`. */
  optionsFields: PropertyKey[][];
}
export type ResumeConfig = z.output<typeof resume>;
export type PathConfig = z.output<typeof path>;
export type TargetConfig = z.output<typeof target>;
