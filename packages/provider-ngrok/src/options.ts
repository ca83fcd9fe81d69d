import { parseDuration } from '@tunnelmux/core/config';
import { z } from 'zod';

/** A parsed `tcp://host:port`. */
export interface TcpAddress {
  host: string;
  port: number;
}

const TCP_ADDRESS = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** `tcp://0.tcp.ngrok.io:12345` → `{ host, port }`; undefined when it is not that shape. */
export function parseTcpAddress(value: string): TcpAddress | undefined {
  const match = TCP_ADDRESS.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (!(port >= 1 && port <= 65535)) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** `host:port`, bracketing IPv6. */
export function formatAddress(address: TcpAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

const tcpAddress = z.string().refine((value) => parseTcpAddress(value) !== undefined, {
  message: 'must look like tcp://host:port',
});

/** A duration as milliseconds or text (`500ms`, `2s`, `1m`). */
const anyDuration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = parseDuration(value);
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 500ms, 2s or 1m' });
    return z.NEVER;
  }
  return parsed;
});
const duration = (fallback: number) => anyDuration.default(fallback);
/** A duration without a default (the mode that uses it fills one in). */
const optionalDuration = anyDuration.optional();

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name such as NGROK_API_KEY');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The API base: https anywhere, plain http only on loopback (the key travels in a header). */
const apiUrl = z
  .string()
  .default('https://api.ngrok.com')
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
      } catch {
        return false;
      }
    },
    { message: 'must be an https:// URL (http:// only for 127.0.0.1 or localhost)' },
  )
  .transform((value) => value.replace(/\/+$/, ''));

const SELECTORS = ['address', 'url', 'id', 'metadata'] as const;
/** Options only access mode reads (besides the API settings, which have defaults). */
export const ACCESS_ONLY = ['address', 'id'] as const;
/** Options only expose mode reads. */
export const EXPOSE_ONLY = ['authtokenEnv', 'config', 'bin', 'startTimeout'] as const;

/**
 * One ngrok path's options, for either mode (the schema cannot see the mode; `open` checks what depends on it).
 * Access mode reaches a TCP address an ngrok agent publishes on the far side: `address` fixes it; `url`, `id`
 * or `metadata` look it up through the ngrok API (and again when it moves). Expose mode runs the agent here:
 * `url` reserves its address, `metadata` tags its endpoint (what an access path on another machine looks up).
 */
const shape = {
  /** A fixed public address, `tcp://0.tcp.ngrok.io:12345`; no API lookup. */
  address: tcpAddress.optional(),
  /** Look up the online endpoint with this public URL (a reserved TCP address). */
  url: tcpAddress.optional(),
  /** Look up the endpoint with this id (`ep_…`); changes whenever an ephemeral endpoint restarts. */
  id: z
    .string()
    .regex(/^ep_\w+$/, 'must be an endpoint id such as ep_2abc…')
    .optional(),
  /** Look up the newest online TCP endpoint whose metadata equals this (`ngrok tcp 22 --metadata …`). */
  metadata: z.string().min(1).optional(),
  /** The ngrok API base URL. */
  apiUrl,
  /** The environment variable holding the ngrok API key (never put the key itself in the config). */
  apiKeyEnv: envName.default('NGROK_API_KEY'),
  /** How often an open path looks its endpoint up again on its own; 0 turns it off. */
  refreshInterval: duration(30_000),
  /** The least time between two lookups (dial failures re-resolve at most this often). */
  resolveInterval: duration(2_000),
  /** Time limit of one TCP connect to the public address. */
  dialTimeout: duration(5_000),
  /** Time limit of one API request. */
  apiTimeout: duration(10_000),
  /** Most pages of `GET /endpoints` followed through `next_page_uri`. */
  maxPages: z.number().int().min(1).max(1000).default(20),

  // Expose mode. No defaults here, so that giving one of them beside an access-only option can be reported.
  /** The environment variable holding the agent authtoken (default NGROK_AUTHTOKEN). */
  authtokenEnv: envName.optional(),
  /** Extra ngrok config files (`--config`, merged in order); note that ngrok then skips its default file. */
  config: z
    .union([z.string().min(1, 'must not be empty'), z.array(z.string().min(1, 'must not be empty')).min(1)])
    .transform((value) => (typeof value === 'string' ? [value] : value))
    .optional(),
  /** The ngrok executable (default: `ngrok` on PATH). */
  bin: z.string().min(1, 'must not be empty').optional(),
  /** Longest wait for the `started tunnel` record (default 20s). */
  startTimeout: optionalDuration,
};
const KNOWN = new Set(Object.keys(shape));
const SECRETISH = /key|token|secret|password|credential/i;

export const optionsSchema = z
  .object(shape)
  // Unknown keys are reported here rather than by .strict(), whose error would quote the whole options
  // object, a secret pasted into the config included.
  .loose()
  .superRefine((options, ctx) => {
    for (const key of Object.keys(options)) {
      if (KNOWN.has(key)) continue;
      const secret = SECRETISH.test(key);
      ctx.addIssue({
        code: 'custom',
        // A path below the value makes the error say "got nothing" instead of echoing the secret.
        path: secret ? [key, '(value hidden)'] : [key],
        message: secret
          ? 'is not an option, and secrets never go in the config: put the ngrok API key in the environment variable "apiKeyEnv" names (NGROK_API_KEY by default), and the agent authtoken in the one "authtokenEnv" names (NGROK_AUTHTOKEN by default)'
          : `is not an option of the ngrok provider (known: ${[...KNOWN].join(', ')})`,
      });
    }
    // What no mode accepts: `address` or `id` with another selector, or beside an expose-only option.
    // (An empty object is a valid expose path; access mode's "needs one of" is checked by open.)
    const given = SELECTORS.filter((key) => options[key] !== undefined);
    const exclusive = given.find((key) => key === 'address' || key === 'id');
    if (exclusive && given.length > 1) {
      const other = given.find((key) => key !== exclusive)!;
      const [first, second] =
        given.indexOf(exclusive) < given.indexOf(other) ? [exclusive, other] : [other, exclusive];
      ctx.addIssue({
        code: 'custom',
        path: [second],
        message: `cannot be combined with "${first}"; give exactly one of ${SELECTORS.join(', ')}`,
      });
    }
    const access = ACCESS_ONLY.find((key) => options[key] !== undefined);
    const expose = EXPOSE_ONLY.find((key) => options[key] !== undefined);
    if (access && expose) {
      ctx.addIssue({
        code: 'custom',
        path: [expose],
        message: `is an expose-mode option and "${access}" an access-mode one; a path is one or the other`,
      });
    }
  });

/** The access-mode rules the schema cannot apply without the mode: a ConfigError message, or undefined. */
export function accessProblem(options: NgrokOptions): { field: string; message: string } | undefined {
  const given = SELECTORS.filter((key) => options[key] !== undefined);
  if (given.length === 0) {
    return {
      field: '(options)',
      message:
        'access mode needs one of "address" (a fixed tcp://host:port) or "url", "id", "metadata" (look the endpoint up through the ngrok API)',
    };
  }
  if (given.length > 1) {
    return {
      field: given[1]!,
      message: `option "${given[1]}" cannot be combined with "${given[0]}" in access mode; give exactly one of ${SELECTORS.join(', ')}`,
    };
  }
  const expose = EXPOSE_ONLY.find((key) => options[key] !== undefined);
  if (expose) return { field: expose, message: `option "${expose}" applies to mode "expose" only` };
  return undefined;
}

/** The expose-mode rules the schema cannot apply without the mode. */
export function exposeProblem(options: NgrokOptions): { field: string; message: string } | undefined {
  const access = ACCESS_ONLY.find((key) => options[key] !== undefined);
  if (!access) return undefined;
  return {
    field: access,
    message:
      access === 'address'
        ? 'option "address" applies to mode "access" only; to publish on a reserved TCP address in expose mode, use "url"'
        : `option "${access}" applies to mode "access" only`,
  };
}

export type NgrokOptions = z.output<typeof optionsSchema>;

/** One mode's schema: the shared one plus what that mode alone refuses. */
const forMode = (problem: (options: NgrokOptions) => { field: string; message: string } | undefined) =>
  optionsSchema.superRefine((options, ctx) => {
    const found = problem(options);
    if (found) {
      ctx.addIssue({
        code: 'custom',
        path: found.field === '(options)' ? [] : [found.field],
        message: found.message,
      });
    }
  });

export const accessOptions = forMode(accessProblem);
export const exposeOptions = forMode(exposeProblem);

/** How the endpoint is chosen when it is looked up. */
export type Selector =
  | { by: 'url'; value: string }
  | { by: 'id'; value: string }
  | { by: 'metadata'; value: string };

/** The lookup selector of these options, or undefined for a fixed `address`. */
export function selectorOf(options: NgrokOptions): Selector | undefined {
  if (options.url !== undefined) return { by: 'url', value: options.url };
  if (options.id !== undefined) return { by: 'id', value: options.id };
  if (options.metadata !== undefined) return { by: 'metadata', value: options.metadata };
  return undefined;
}

/** `metadata "home-ssh"`, for messages. */
export function describeSelector(selector: Selector): string {
  return `${selector.by} ${JSON.stringify(selector.value)}`;
}
