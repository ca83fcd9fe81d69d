/** The methods the control socket serves. */
export const CONTROL_METHODS = [
  'status',
  'list',
  'metrics',
  'prometheus',
  'events',
  'primary',
  'failover',
  'restart',
  'stop',
  'info',
  'reload',
  'dashboard',
] as const;

export type ControlMethod = (typeof CONTROL_METHODS)[number];

/** Why the server refused a request or a connection; clients can branch on these. */
export type ControlErrorCode = 'ERR_BAD_REQUEST' | 'ERR_LINE_TOO_LONG' | 'ERR_BUSY' | 'ERR_IDLE';

/**
 * One response line. `id` echoes the request's, or is null when the request had none to echo. `events` with
 * `follow` sends one `{ id, event }` line per event until the client leaves.
 */
export type ControlResponse =
  | { id: number | null; ok: true; result: unknown }
  | { id: number | null; ok: false; error: { message: string; code: string } }
  | { id: number; event: unknown };
