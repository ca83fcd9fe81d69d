// cloudflared's stderr: zerolog console lines (`<time> <LVL> <message> key=value ...`), zerolog JSON lines
// (`--output json`), and raw text (urfave errors, the Access login prompt, Go panics).
import { type LogLevel, ProviderError } from '@tunnelmux/core';
import type { ExitInfo, LineParser } from '@tunnelmux/core/provider';

/** One line of cloudflared output, parsed. */
export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: Record<string, string>;
  /** The level as cloudflared printed it (`INF`, `ERR`...); undefined for raw text. */
  rawLevel?: string;
  time?: string;
}

const LEVELS: Record<string, LogLevel> = {
  TRC: 'debug',
  DBG: 'debug',
  INF: 'info',
  WRN: 'warn',
  ERR: 'error',
  FTL: 'error',
  PNC: 'error',
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'error',
  panic: 'error',
};

// Colour codes only appear on a TTY, but a user may force them; strip them anyway.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC.
const ANSI = /\u001b\[[0-9;]*m/g;
const CONSOLE = /^(\d{4}-\d{2}-\d{2}T\S+)\s+(TRC|DBG|INF|WRN|ERR|FTL|PNC|\?\?\?)\s?(.*)$/;
// A trailing ` key=value` field; values are Go-quoted when they hold spaces or quotes.
const TRAILING_FIELD = /\s([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)$/;

/** Undo Go's strconv.Quote (close enough to JSON for what cloudflared prints). */
function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return JSON.parse(value.replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')) as string;
  } catch {
    return value.slice(1, -1);
  }
}

/** Split `message k=v k2="v 2"` into the message and its fields (fields are read from the end). */
function splitFields(rest: string): { message: string; fields: Record<string, string> } {
  const found: Array<[string, string]> = [];
  let text = ` ${rest}`;
  for (let match = TRAILING_FIELD.exec(text); match; match = TRAILING_FIELD.exec(text)) {
    found.unshift([match[1]!, unquote(match[2]!)]);
    text = text.slice(0, match.index);
  }
  return { message: text.trim(), fields: Object.fromEntries(found) };
}

function parseJson(line: string): LogEntry | undefined {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!record || typeof record !== 'object' || Array.isArray(record)) return undefined;
  const { level, message, time, ...rest } = record as Record<string, unknown>;
  if (typeof level !== 'string' || !(level in LEVELS)) return undefined;
  const fields = Object.fromEntries(
    Object.entries(rest).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  );
  return {
    level: LEVELS[level]!,
    rawLevel: level,
    message: typeof message === 'string' ? message : '',
    fields,
    time: typeof time === 'string' ? time : undefined,
  };
}

/** Parse one line; raw text comes back at `info` with no fields. */
export function parseLogLine(line: string): LogEntry {
  const text = line.replace(ANSI, '').trimEnd();
  if (text.startsWith('{')) {
    const entry = parseJson(text);
    if (entry) return entry;
  }
  const match = CONSOLE.exec(text);
  if (!match) return { level: 'info', message: text, fields: {} };
  const { message, fields } = splitFields(match[3] ?? '');
  return { level: LEVELS[match[2]!] ?? 'info', rawLevel: match[2], time: match[1], message, fields };
}

/** How long open waits for readiness when nothing aborts it first (the manager's openTimeout usually does). */
export const READY_TIMEOUT_MS = 60_000;

/** A line parser for ctx.forwardLines: each parsed line goes to the log, after `see` has read it. */
export function cloudflaredLines(see: (entry: LogEntry) => void): LineParser {
  return ({ text }) => {
    const entry = parseLogLine(text);
    see(entry);
    const fields = Object.keys(entry.fields).length > 0 ? entry.fields : undefined;
    return { level: entry.level, message: entry.message, fields };
  };
}

/**
 * The plain open failure, when no known cause matched: cloudflared exited before it was `ready`, or it ran but
 * never became ready (`notReady`, then the wait's own error); its last lines follow.
 */
export function startFailure(info: ExitInfo, error: unknown, ready: string, notReady: string): ProviderError {
  const lines = info.lastLines;
  const tail = lines.length > 0 ? `; last output: ${lines.slice(-3).join(' | ')}` : '';
  const exited = info.code !== null || info.signal !== null;
  const how = info.reason ?? (info.signal ? `signal ${info.signal}` : `code ${info.code}`);
  const cause = error instanceof Error ? error.message : String(error);
  const message = exited
    ? `cloudflared exited (${how}) before ${ready}${tail}`
    : `cloudflared ${notReady}: ${cause}${tail}`;
  return new ProviderError(message, { provider: 'cloudflare', cause: error, lastLines: lines });
}
