// zerolog's console writer as cloudflared configures it off a TTY: `<RFC3339 UTC> <LVL> <message> <fields>`.

export type ZerologLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const LEVEL_TEXT: Record<ZerologLevel, string> = {
  debug: 'DBG',
  info: 'INF',
  warn: 'WRN',
  error: 'ERR',
  fatal: 'FTL',
};
const LEVEL_RANK: Record<ZerologLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };

/** `2026-08-20T10:00:00Z`: RFC 3339 in UTC, whole seconds, as cloudflared's TimeFormat prints it. */
export function rfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's strconv.Quote is needed when a value has spaces, quotes, backslashes or non-printables. */
function needsQuote(value: string): boolean {
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code <= 0x20 || code >= 0x7f || char === '"' || char === '\\') return true;
  }
  return false;
}

/** One console line: fields sorted by name with `error` first, values with spaces Go-quoted. */
export function formatLine(
  level: ZerologLevel,
  message: string,
  fields: Record<string, string | number | boolean> = {},
  date = new Date(),
): string {
  // Go sorts bytes: `connIndex` comes before `connection`.
  const keys = Object.keys(fields).sort((a, b) =>
    a === 'error' ? -1 : b === 'error' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const parts = keys.map((key) => {
    const value = String(fields[key]);
    return `${key}=${needsQuote(value) ? JSON.stringify(value) : value}`;
  });
  return [rfc3339(date), LEVEL_TEXT[level], message, ...parts].filter((part) => part !== '').join(' ');
}

/** A logger writing console lines to stderr, dropping those under `--loglevel`. */
export class ZerologConsole {
  constructor(
    private readonly minimum: ZerologLevel = 'info',
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  log(level: ZerologLevel, message: string, fields?: Record<string, string | number | boolean>): void {
    if (LEVEL_RANK[level] < LEVEL_RANK[this.minimum]) return;
    this.write(formatLine(level, message, fields));
  }

  debug(message: string, fields?: Record<string, string | number | boolean>): void {
    this.log('debug', message, fields);
  }
  info(message: string, fields?: Record<string, string | number | boolean>): void {
    this.log('info', message, fields);
  }
  warn(message: string, fields?: Record<string, string | number | boolean>): void {
    this.log('warn', message, fields);
  }
  error(message: string, fields?: Record<string, string | number | boolean>): void {
    this.log('error', message, fields);
  }
}

/** `--loglevel` values cloudflared accepts; anything else falls back to info like its logger does. */
export function parseLevel(value: string | undefined): ZerologLevel {
  const normalized = (value ?? 'info').toLowerCase();
  if (normalized === 'warning') return 'warn';
  return normalized in LEVEL_RANK ? (normalized as ZerologLevel) : 'info';
}
