// Options of one cloudflare path, one schema per mode: access paths name an Access `hostname`; expose paths name a
// tunnel token or `quickTunnel: true`. Each schema refuses the other mode's fields, naming the mode that takes them.
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

const hostname = z
  .string(required('the Access application hostname, e.g. ssh.example.com'))
  .trim()
  .toLowerCase()
  .regex(HOSTNAME, 'must be a hostname such as ssh.example.com (no scheme, port or path)');

/** `host:port` with a numeric port. */
const ADDRESS = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** A field of the other mode: refused with a message that says which mode takes it. */
const foreign = (fields: readonly string[], mode: 'access' | 'expose') =>
  Object.fromEntries(
    fields.map((field) => [
      field,
      z.undefined({ error: `is an ${mode} option (set \`mode: ${mode}\` on the path)` }).optional(),
    ]),
  );

const EXPOSE_FIELDS = ['tunnelToken', 'tunnelTokenEnv', 'quickTunnel', 'publicHostname', 'publicAddress'];
const ACCESS_FIELDS = [
  'hostname',
  'serviceTokenId',
  'serviceTokenSecret',
  'serviceTokenIdEnv',
  'serviceTokenSecretEnv',
  'port',
];

const common = {
  /** The cloudflared executable; default: `cloudflared` on PATH. */
  bin: z.string().min(1, 'must not be empty').optional(),
  /** cloudflared's own log level (`--loglevel`); default: cloudflared's (info). */
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'fatal']).optional(),
};

/** An access path: `cloudflared access tcp` to an Access application. */
export const accessOptions = z
  .object({
    /** The hostname of the Cloudflare Access application (`cloudflared access tcp --hostname`). */
    hostname,
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
    ...common,
    ...foreign(EXPOSE_FIELDS, 'expose'),
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

/** An expose path: a named tunnel by its token, or a quick tunnel. */
export const exposeOptions = z
  .object({
    /** The token of a named tunnel (`cloudflared tunnel token <name>`); given as TUNNEL_TOKEN, never argv. */
    tunnelToken: z.string().trim().min(1, 'must not be empty').optional(),
    /** Read the tunnel token from this environment variable of tunnelmux instead. */
    tunnelTokenEnv: envName.optional(),
    /** A quick tunnel on trycloudflare.com for an HTTP service (no account; random hostname). */
    quickTunnel: z.literal(true, { error: 'must be true (or leave it out)' }).optional(),
    /** The public hostname routed to the named tunnel (for display), e.g. ssh.example.com. */
    publicHostname: z
      .string()
      .trim()
      .toLowerCase()
      .regex(HOSTNAME, 'must be a hostname such as ssh.example.com (no scheme, port or path)')
      .optional(),
    /** A `host:port` that reaches the published service from this machine; probes dial it end to end. */
    publicAddress: z
      .string()
      .trim()
      .regex(ADDRESS, 'must be host:port, e.g. 127.0.0.1:2222')
      .refine((value) => {
        const port = Number(ADDRESS.exec(value)?.[1]);
        return port >= 1 && port <= 65535;
      }, 'must have a port from 1 to 65535')
      .optional(),
    ...common,
    ...foreign(ACCESS_FIELDS, 'access'),
  })
  .strict()
  .superRefine((options, ctx) => {
    const kinds = (['tunnelToken', 'tunnelTokenEnv', 'quickTunnel'] as const).filter(
      (field) => options[field] !== undefined,
    );
    if (kinds.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['tunnelToken'],
        message:
          'is required for an expose path (or "tunnelTokenEnv", or "quickTunnel: true" for an HTTP service)',
      });
    } else if (kinds.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [kinds[1]!],
        message: `cannot be combined with "${kinds[0]}"; a path runs one named tunnel or one quick tunnel`,
      });
    }
    if (options.quickTunnel && options.publicHostname !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['publicHostname'],
        message:
          'cannot be combined with "quickTunnel" (a quick tunnel gets a random trycloudflare.com hostname)',
      });
    }
  });

export type AccessOptions = z.output<typeof accessOptions>;
export type ExposeOptions = z.output<typeof exposeOptions>;

/** An Access service token. */
export interface ServiceToken {
  id: string;
  secret: string;
}

/** The service token the options name, read from `env` where asked; undefined when none is configured. */
export function resolveServiceToken(
  options: AccessOptions,
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

/** The tunnel token the options name, read from `env` when asked; `missing` names an unset variable. */
export function resolveTunnelToken(
  options: ExposeOptions,
  env: NodeJS.ProcessEnv,
): { token?: string; missing?: string } {
  if (options.tunnelToken !== undefined) return { token: options.tunnelToken };
  if (options.tunnelTokenEnv === undefined) return {};
  const value = env[options.tunnelTokenEnv]?.trim();
  return value ? { token: value } : { missing: options.tunnelTokenEnv };
}
