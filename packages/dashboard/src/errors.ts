import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** An error the API answers with: a `[tunnelmux]` message and a code, as the control socket words it. */
export class DashboardError extends Error {
  override name = 'DashboardError';

  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// The HTTP status each control error code stands for; anything unknown is the instance's fault (500).
const STATUS: Record<string, ContentfulStatusCode> = {
  ERR_BAD_REQUEST: 400,
  ERR_UNAUTHORIZED: 401,
  ERR_HOST: 403,
  ERR_ORIGIN: 403,
  ERR_NOT_FOUND: 404,
  ERR_NO_SERVICE: 404,
  ERR_NO_PATH: 404,
  ERR_NO_PATHS: 404,
  ERR_STATE: 409,
  ERR_BODY_TOO_LARGE: 413,
  ERR_NO_HISTORY: 501,
  ERR_BUSY: 503,
};

/** The one JSON error shape: `{ error: { message, code } }`. */
export function errorResponse(c: Context, error: unknown): Response {
  // Hono's own refusals (a body that is not JSON) keep their status, in our words.
  if (error instanceof HTTPException && error.status < 500) {
    const message =
      error.status === 415
        ? `[tunnelmux] bad request: send the body as JSON (Content-Type: application/json), got ${JSON.stringify(c.req.header('content-type') ?? 'none')}`
        : `[tunnelmux] bad request: ${error.message}`;
    return c.json({ error: { message, code: 'ERR_BAD_REQUEST' } }, error.status as ContentfulStatusCode);
  }
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const status = STATUS[code] ?? 500;
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="tunnelmux"');
  return c.json({ error: { message: prefixed(message), code } }, status);
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_') ? code : 'ERR_TUNNELMUX';
}

function prefixed(message: string): string {
  return message.startsWith('[tunnelmux]') ? message : `[tunnelmux] ${message}`;
}
