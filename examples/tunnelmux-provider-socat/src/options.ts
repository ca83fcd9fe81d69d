// Options of one socat relay path, validated with zod: every error names the field and the bad value.
import { z } from 'zod';

/** One socat address option such as `nodelay`, `keepalive` or `connect-timeout=5`: no commas, no `!!`, no spaces. */
const ADDRESS_OPTION = /^[a-z][a-z0-9-]*(?:=[A-Za-z0-9._:/@%+-]+)?$/;

export const socatOptions = z
  .object({
    /** The IPv4 address socat listens on; tunnelmux dials it there. Default 127.0.0.1. */
    bind: z
      .ipv4({ error: 'must be an IPv4 address such as 127.0.0.1 (no host name, no port)' })
      .refine((value) => value !== '0.0.0.0', {
        error: 'must be one address, not 0.0.0.0: listening on every interface would expose the target',
      })
      .default('127.0.0.1'),
    /** A fixed port for the listener; default: a free port on `bind`. */
    port: z
      .number({ error: 'must be a port number (1-65535)' })
      .int('must be a whole port number (1-65535)')
      .min(1, 'must be a port number (1-65535)')
      .max(65535, 'must be a port number (1-65535)')
      .optional(),
    /** The socat executable; default: `socat` on PATH. */
    bin: z.string().min(1, 'must not be empty').optional(),
    /** Extra socat address options for the connecting side, e.g. ["nodelay", "connect-timeout=5"]. */
    extraAddressOptions: z
      .array(
        z
          .string()
          .regex(
            ADDRESS_OPTION,
            'must be one socat address option such as nodelay or connect-timeout=5 (no commas, "!!" or spaces)',
          ),
      )
      .max(20, 'must hold at most 20 options')
      .default([]),
  })
  .strict();

export type SocatOptionsInput = z.input<typeof socatOptions>;
export type SocatOptions = z.output<typeof socatOptions>;
