// Options of one cloudflare path. The access side is all there is today; the expose side (tunnel run with
// TUNNEL_TOKEN, quick tunnels) will add its fields here and pick them by `ctx.mode` in open.
import { z } from 'zod';

/** A DNS hostname: dot-separated labels of letters, digits and dashes, at least two labels. */
const HOSTNAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A POSIX environment variable name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const required = (what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined ? `is required (${what})` : `must be a string`,
});

const envName = z
  .string()
  .regex(ENV_NAME, 'must be an environment variable name such as CF_ACCESS_CLIENT_ID');

export const cloudflareOptions = z
  .object({
    /** The hostname of the Cloudflare Access application (`cloudflared access tcp --hostname`). */
    hostname: z
      .string(required('the Access application hostname, e.g. ssh.example.com'))
      .trim()
      .toLowerCase()
      .regex(HOSTNAME, 'must be a hostname such as ssh.example.com (no scheme, port or path)'),
    /** Access service token id (sent as Cf-Access-Client-Id), given to cloudflared through its environment. */
    serviceTokenId: z.string().min(1, 'must not be empty').optional(),
    /** Access service token secret (Cf-Access-Client-Secret); never in argv, redacted from logs. */
    serviceTokenSecret: z.string().min(1, 'must not be empty').optional(),
    /** Read the service token id from this environment variable of tunnelmux instead. */
    serviceTokenIdEnv: envName.optional(),
    /** Read the service token secret from this environment variable of tunnelmux instead. */
    serviceTokenSecretEnv: envName.optional(),
    /** A fixed local port for cloudflared's listener; default: a free port on 127.0.0.1. */
    port: z.number().int().min(1).max(65535).optional(),
    /** The cloudflared executable; default: `cloudflared` on PATH. */
    bin: z.string().min(1, 'must not be empty').optional(),
    /** cloudflared's own log level (`--loglevel`); default: cloudflared's (info). */
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'fatal']).optional(),
  })
  .strict()
  .superRefine((options, ctx) => {
    const pairs = [
      ['serviceTokenId', 'serviceTokenIdEnv'],
      ['serviceTokenSecret', 'serviceTokenSecretEnv'],
    ] as const;
    for (const [literal, fromEnv] of pairs) {
      if (options[literal] !== undefined && options[fromEnv] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [fromEnv],
          message: `cannot be combined with "${literal}"; give the value or the variable name, not both`,
        });
      }
    }
    const hasId = options.serviceTokenId !== undefined || options.serviceTokenIdEnv !== undefined;
    const hasSecret = options.serviceTokenSecret !== undefined || options.serviceTokenSecretEnv !== undefined;
    if (hasId !== hasSecret) {
      ctx.addIssue({
        code: 'custom',
        path: [hasId ? 'serviceTokenSecret' : 'serviceTokenId'],
        message: `is required with "${hasId ? 'serviceTokenId' : 'serviceTokenSecret'}" (a service token is an id and a secret; or use the ...Env variants)`,
      });
    }
  });

export type CloudflareOptions = z.output<typeof cloudflareOptions>;

/** An Access service token. */
export interface ServiceToken {
  id: string;
  secret: string;
}

/** The service token the options name, read from `env` where asked; undefined when none is configured. */
export function resolveServiceToken(
  options: CloudflareOptions,
  env: NodeJS.ProcessEnv,
): { token?: ServiceToken; missing?: { field: string; variable: string } } {
  const read = (literal: string | undefined, field: string, variable: string | undefined) => {
    if (literal !== undefined) return { value: literal };
    if (variable === undefined) return {};
    const value = env[variable];
    return value ? { value } : { missing: { field, variable } };
  };
  const id = read(options.serviceTokenId, 'serviceTokenIdEnv', options.serviceTokenIdEnv);
  const secret = read(options.serviceTokenSecret, 'serviceTokenSecretEnv', options.serviceTokenSecretEnv);
  const missing = id.missing ?? secret.missing;
  if (missing) return { missing };
  if (id.value === undefined || secret.value === undefined) return {};
  return { token: { id: id.value, secret: secret.value } };
}
