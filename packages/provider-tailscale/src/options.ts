import { z } from 'zod';
import { parseGoDuration } from './duration';

// A peer is named the way tailscale names it: HostName, MagicDNS short or full name, or a tailnet IP.
// Never starting with "-", so it can never be read as a flag.
const PEER = /^[A-Za-z0-9:][A-Za-z0-9._:%-]*$/;

const duration = (fallback: number, min: number, max: number) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .transform((value, ctx) => {
      const ms = typeof value === 'number' ? value : parseGoDuration(value);
      if (ms === undefined || !Number.isFinite(ms) || ms < min || ms > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration between ${min} ms and ${max / 1000} s such as "5s" or "500ms" (or a number of milliseconds)`,
        });
        return z.NEVER;
      }
      return ms;
    });

/** One tailscale path's options. */
export const optionsSchema = z
  .object({
    /** access: the peer, by HostName, MagicDNS name (`devbox` or `devbox.tail1234.ts.net`) or tailnet IP. Required there. */
    host: z
      .string()
      .trim()
      .min(1, 'must name a peer')
      .max(253, 'must be at most 253 characters')
      .regex(PEER, 'must be a peer HostName, MagicDNS name or tailnet IP, such as "devbox" or "100.64.0.2"')
      .optional(),
    /** access: the port on the peer; defaults to the path target's port. */
    port: z.number().int().min(1).max(65535).optional(),
    /** expose: the tailnet port that `tailscale serve --tcp=PORT` listens on; defaults to the local port. */
    publicPort: z.number().int().min(1).max(65535).optional(),
    /**
     * expose: what the manager's probes use. `dial` connects to this node's own tailnet address (end to end),
     * `check` reads `tailscale serve status` and the backend state, `auto` (default) dials when that address
     * only answers once the handler is published.
     */
    health: z.enum(['auto', 'dial', 'check']).optional(),
    /** tailscaled's socket, passed as `--socket=PATH` before the subcommand (userspace or second daemons). */
    socket: z
      .string()
      .min(1, 'must be a path to tailscaled.sock')
      .refine((value) => !/[\r\n\0]/.test(value), 'must be a path without control characters')
      .optional(),
    /** The tailscale executable; default `tailscale` on PATH. */
    bin: z.string().min(1, 'must be a path to the tailscale executable').optional(),
    /**
     * How connections reach the peer: `direct` dials its tailnet IP (needs the TUN device), `nc` runs
     * `tailscale nc` per connection (works with userspace networking), `auto` picks nc when status says TUN: false.
     */
    dial: z.enum(['auto', 'direct', 'nc']).default('auto'),
    /** How often `tailscale status` is re-read while the path is open, to notice a peer going offline. */
    pollInterval: duration(5000, 100, 600_000),
  })
  .strict();

/** An access path: reach `host`; the expose-only options are refused, naming the mode that takes them. */
export const accessOptions = optionsSchema.superRefine((options, ctx) => {
  for (const field of ['publicPort', 'health'] as const) {
    if (options[field] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: 'must be left out on an access path (it only applies to expose paths: mode: expose)',
      });
    }
  }
  if (options.host === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['host'],
      message:
        'must be the peer to reach on an access path: name it by HostName, MagicDNS name or tailnet IP, e.g. host: devbox',
    });
  }
});

/** An expose path: publish this machine's target port; the access-only options are refused. */
export const exposeOptions = optionsSchema.superRefine((options, ctx) => {
  for (const field of ['host', 'port'] as const) {
    if (options[field] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `must be left out on an expose path (${
          field === 'port'
            ? 'an expose path publishes its target port; set "publicPort" for the tailnet port'
            : 'an expose path publishes this machine; "host" only applies to access paths'
        })`,
      });
    }
  }
});

export type TailscaleOptionsInput = z.input<typeof optionsSchema>;
export type TailscaleOptions = z.output<typeof optionsSchema>;
