/** One request on the control socket: a line of JSON. */
export interface ControlRequest {
  id: number;
  method: ControlMethod;
  params?: Record<string, unknown>;
}

export type ControlMethod =
  | 'status'
  | 'list'
  | 'metrics'
  | 'prometheus'
  | 'events'
  | 'primary'
  | 'failover'
  | 'restart'
  | 'stop'
  | 'info';

/** One response line; `events` with `follow` sends one `{ id, event }` line per event until the client leaves. */
export type ControlResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; code: string } }
  | { id: number; event: unknown };
