/** Options shared by every tunnelmux error. */
export interface TunnelmuxErrorOptions {
  /** The provider the error is about, shown as `[tunnelmux] [provider]`. */
  provider?: string;
  /** The path the error is about. */
  pathId?: string;
  cause?: unknown;
  /** A fatal error is not retried: config and auth problems. */
  fatal?: boolean;
  /** A stable machine-readable code, e.g. `ERR_CONFIG`. */
  code?: string;
}

const SECRET_FIELD = /pass|secret|token|auth|credential|private|api[-_]?key|^key$/i;

/** True for field names whose values must never be echoed (tokens, passwords, keys). */
export function isSecretField(field: string): boolean {
  return field.split('.').some((part) => SECRET_FIELD.test(part));
}

/** Like `describeValue`, but a secret field's value is only described by its type. */
export function describeFieldValue(field: string, value: unknown): string {
  return isSecretField(field) && value !== undefined
    ? `a ${typeof value} (value hidden)`
    : describeValue(value);
}

/** Longest part of a value an error message echoes: a 4 MB value must not make a 4 MB message. */
export const ECHO_LIMIT = 200;

/** `text` cut to `limit` characters, saying how many were left out: `abc… (3999800 more)`. */
export function clip(text: string, limit = ECHO_LIMIT): string {
  if (text.length <= limit) return text;
  // Never split a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(limit - 1)) ? limit - 1 : limit;
  return `${text.slice(0, end)}… (${text.length - end} more)`;
}

/** Render a value the way error messages quote it: `"abc" (string)`, `-1 (number)`; long values are clipped. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (value.length <= ECHO_LIMIT) return `${JSON.stringify(value)} (string)`;
    const clipped = clip(value);
    const head = clipped.slice(0, clipped.lastIndexOf('… ('));
    return `${JSON.stringify(head)}${clipped.slice(head.length)} (string)`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${clip(String(value))} (${typeof value})`;
  }
  if (Array.isArray(value)) return `an array of ${value.length}`;
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}... (object)` : `${text} (object)`;
  } catch {
    return typeof value;
  }
}

function prefix(provider?: string): string {
  return provider ? `[tunnelmux] [${provider}] ` : '[tunnelmux] ';
}

/** The base of every error tunnelmux throws: prefixed, with the cause kept. */
export class TunnelmuxError extends Error {
  override name = 'TunnelmuxError';
  readonly provider?: string;
  readonly pathId?: string;
  readonly fatal: boolean;
  readonly code: string;

  constructor(message: string, options: TunnelmuxErrorOptions = {}) {
    super(message.startsWith('[tunnelmux]') ? message : prefix(options.provider) + message, {
      cause: options.cause,
    });
    this.provider = options.provider;
    this.pathId = options.pathId;
    this.fatal = options.fatal ?? false;
    this.code = options.code ?? 'ERR_TUNNELMUX';
  }
}

/** Bad input: a config field, an option, an argument. Always fatal. */
export class ConfigError extends TunnelmuxError {
  override name = 'ConfigError';
  readonly field?: string;
  readonly value?: unknown;

  constructor(message: string, options: TunnelmuxErrorOptions & { field?: string; value?: unknown } = {}) {
    super(message, { ...options, fatal: true, code: options.code ?? 'ERR_CONFIG' });
    this.field = options.field;
    this.value = options.value;
  }

  /** `option "port" must be a port number (1-65535), got "abc" (string)`. */
  static invalid(
    field: string,
    value: unknown,
    expected: string,
    options: TunnelmuxErrorOptions & { hint?: string } = {},
  ): ConfigError {
    const hint = options.hint ? `; ${options.hint}` : '';
    return new ConfigError(`${field} must be ${expected}, got ${describeValue(value)}${hint}`, {
      ...options,
      field,
      value,
    });
  }
}

/** A provider failed: its tool is missing, refused auth, or its tunnel broke. `fatal` says whether to retry. */
export class ProviderError extends TunnelmuxError {
  override name = 'ProviderError';
  /** The last lines the provider's process printed, when there is one. */
  readonly lastLines: string[];

  constructor(message: string, options: TunnelmuxErrorOptions & { lastLines?: string[] } = {}) {
    super(message, {
      ...options,
      code: options.code ?? (options.fatal ? 'ERR_PROVIDER_FATAL' : 'ERR_PROVIDER'),
    });
    this.lastLines = options.lastLines ?? [];
  }
}

/** An operation that does not fit the current state: unknown path, duplicate id, manager shut down. */
export class StateError extends TunnelmuxError {
  override name = 'StateError';

  constructor(message: string, options: TunnelmuxErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? 'ERR_STATE' });
  }
}

/** True when retrying cannot help: bad config, bad credentials. */
export function isFatal(error: unknown): boolean {
  return error instanceof TunnelmuxError ? error.fatal : false;
}

/** The message of anything thrown, for events and logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
