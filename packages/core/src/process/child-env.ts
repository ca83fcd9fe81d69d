// What a child tool may see of tunnelmux's environment: what any tool needs to run, the variables its provider
// declares, and what the user lists in TUNNELMUX_PASS_ENV. Secrets never pass by name; a path hands its own
// secrets to its child explicitly (spawn's `env`), so no path's child sees another path's secret.

/** Passed to every child: search path, identity, locale, time zone, temp folder, proxies and CA bundles. */
export const BASE_CHILD_ENV: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_*',
  'TZ',
  'TMPDIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
];

/** The user's own list of extra variables for every child: comma- or space-separated names or `PREFIX_*`. */
export const PASS_ENV_VARIABLE = 'TUNNELMUX_PASS_ENV';

// A pattern (`NGROK_*`) never carries a variable whose name says it holds a credential.
const SECRET_NAME = /TOKEN|SECRET|PASSW|PASSPHRASE|AUTH_?KEY|API_?KEY|CREDENTIAL|PRIVATE/i;

/** True when `name` matches `pattern`: an exact name, or a prefix ending in `*` (never a secret-looking name). */
function matches(name: string, pattern: string): boolean {
  if (!pattern.endsWith('*')) return name === pattern;
  return name.startsWith(pattern.slice(0, -1)) && !SECRET_NAME.test(name);
}

/** The names and patterns the user listed in TUNNELMUX_PASS_ENV. */
function userPassList(source: NodeJS.ProcessEnv): string[] {
  return (source[PASS_ENV_VARIABLE] ?? '').split(/[\s,]+/).filter(Boolean);
}

/**
 * The environment of one child: the variables of `source` that `BASE_CHILD_ENV`, `pass` (the provider's
 * declared variables) or TUNNELMUX_PASS_ENV allow, then `own` (this path's secrets and settings) on top.
 * An `undefined` in `own` removes that variable.
 */
export function childEnv(
  source: NodeJS.ProcessEnv,
  pass: readonly string[] = [],
  own: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  const allowed = [...BASE_CHILD_ENV, ...pass, ...userPassList(source)];
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source)) {
    if (value !== undefined && allowed.some((pattern) => matches(name, pattern))) env[name] = value;
  }
  for (const [name, value] of Object.entries(own)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}
