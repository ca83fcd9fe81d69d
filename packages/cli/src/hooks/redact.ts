// Webhook URLs and headers carry credentials (user:password@, ?token=, Authorization); nothing that leaves
// tunnelmux (logs, events, errors, status, config errors) may show them.

const MASK = '***';

/** A URL with its userinfo and every query value masked: `https://***:***@host/path?token=***`. */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not a URL we can take apart: show its scheme at most, never the rest.
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(raw)?.[0];
    return scheme ? `${scheme}${MASK}` : MASK;
  }
  if (url.username) url.username = MASK;
  if (url.password) url.password = MASK;
  // Keys stay (they say what the parameter is for); values go. A fragment never reaches the server but may hold one.
  const keys = [...url.searchParams.keys()];
  url.search = '';
  for (const key of keys) url.searchParams.append(key, MASK);
  if (url.hash) url.hash = MASK;
  // URLSearchParams escapes the mask; show it as written.
  return url.toString().replaceAll('%2A%2A%2A', MASK);
}

/** Header names stay, values go (an Authorization or X-Api-Key value is the secret). */
export function redactHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.keys(headers ?? {}).map((name) => [name, MASK]));
}

/** Every secret piece of a webhook (userinfo, query values, fragment, header values), for scrubbing free text. */
export function webhookSecrets(raw: string, headers: Record<string, string> | undefined): string[] {
  const secrets = new Set<string>(Object.values(headers ?? {}));
  try {
    const url = new URL(raw);
    for (const part of [url.username, url.password, url.hash.slice(1)]) secrets.add(part);
    for (const part of [decodeSafe(url.username), decodeSafe(url.password)]) secrets.add(part);
    // The Basic credentials the userinfo becomes on the wire.
    if (url.username || url.password) {
      const basic = `${decodeSafe(url.username)}:${decodeSafe(url.password)}`;
      secrets.add(Buffer.from(basic).toString('base64'));
    }
    for (const value of url.searchParams.values()) secrets.add(value);
    // The raw query as written, escaped or not, in case a message quotes it whole.
    for (const piece of url.search.slice(1).split('&')) secrets.add(piece.split('=').slice(1).join('='));
  } catch {
    secrets.add(raw);
  }
  // Very short values would blank out ordinary words; such a "secret" protects nothing anyway.
  return [...secrets].filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length);
}

/** Replace `secrets` in `text`, and any URL it holds, with their masked forms. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (found) => redactUrl(found));
  for (const secret of secrets) out = out.split(secret).join(MASK);
  return out;
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A config value under `on:` as a config error may quote it: header values and URL secrets masked. `fieldPath`
 * is where the value sits in the config.
 */
export function redactHookField(fieldPath: readonly PropertyKey[], value: unknown): unknown {
  if (fieldPath[0] !== 'on') return value;
  if (fieldPath.includes('headers'))
    return typeof value === 'object' && value ? redactHeaders(value as Record<string, string>) : MASK;
  return redactDeep(value);
}

function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:/i.test(value) ? redactUrl(value) : value;
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        key === 'headers' && item && typeof item === 'object'
          ? redactHeaders(item as Record<string, string>)
          : redactDeep(item),
      ]),
    );
  }
  return value;
}
