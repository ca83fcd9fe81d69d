import type { LogLevel } from '../provider/types';
import type { PathState } from '../state/transitions';

/** Why a resumable session ended without a clean close (docs/sessions.md). */
export type SessionLostReason =
  | 'window-expired'
  | 'key-refused'
  | 'relay-restarted'
  | 'buffer-exhausted'
  | 'reset'
  | 'open-failed';

/** Why the primary changed. */
export type PrimaryChangeReason =
  | 'initial'
  | 'failover'
  | 'failback'
  | 'manual'
  | 'pin-cleared'
  | 'stopped'
  /** The latency strategy moved traffic to a path that stayed faster by the margin for the dwell. */
  | 'latency'
  /** The primary left the rotation to be drained (removed or replaced). */
  | 'drained';

/** One item a reload did not apply, and why. */
export interface ReloadFailure {
  /** `service` or `service/path`. */
  item: string;
  reason: string;
}

interface Base {
  /** Milliseconds since the epoch. */
  time: number;
  /** Increases by one per event of a manager (of a service group, for its merged stream). */
  seq: number;
  /** The service whose manager emitted it ('default' for the single-service form); absent only from old emitters. */
  service?: string;
}

interface PathBase extends Base {
  pathId: string;
  provider: string;
}

/** Every event a manager emits, discriminated by `type`. */
export type TunnelmuxEvent =
  | (PathBase & { type: 'state-change'; from: PathState; to: PathState; reason: string })
  | (PathBase & { type: 'connected'; endpoint: string; publicUrl?: string; pid?: number })
  | (PathBase & { type: 'disconnected'; reason: string })
  | (PathBase & { type: 'reconnecting'; attempt: number; delayMs: number; reason: string })
  | (PathBase & {
      type: 'probe';
      ok: boolean;
      latencyMs?: number;
      error?: string;
      consecutiveFailures: number;
    })
  | (PathBase & { type: 'dial-failed'; reason: string; source: 'front-door' | 'provider' })
  | (PathBase & { type: 'public-url'; publicUrl: string })
  | (PathBase & { type: 'log'; level: LogLevel; message: string; fields?: Record<string, unknown> })
  /** The path left the rotation; its live connections may finish for up to `timeoutMs`. */
  | (PathBase & { type: 'path-draining'; activeConnections: number; timeoutMs: number })
  /** The drained path is stopped and gone; `closedConnections` were still open at the timeout and were cut. */
  | (PathBase & { type: 'path-drained'; closedConnections: number; waitedMs: number })
  | (Base & { type: 'primary-change'; from?: string; to?: string; reason: PrimaryChangeReason })
  | (Base & { type: 'failover'; from: string; to?: string; reason: string })
  | (Base & { type: 'no-healthy-path'; paths: number })
  | (Base & { type: 'healthy-path-restored'; pathId: string; downForMs: number })
  | (Base & { type: 'connection-refused'; reason: string; client?: string })
  | (Base & { type: 'warning'; message: string })
  /** A new configuration was applied: items are `service` or `service/path`. */
  | (Base & {
      type: 'config-reloaded';
      added: string[];
      removed: string[];
      changed: string[];
      failed: ReloadFailure[];
    })
  | (Base & {
      type: 'hook-failed';
      /** The hook, secrets redacted: `command notify.sh` or `webhook https://hooks.example/***`. */
      hook: string;
      /** The event type that ran it, and the path it was about. */
      on: string;
      pathId?: string;
      /** Why, secrets redacted. Sent once per burst of failures (until the hook succeeds again). */
      reason: string;
      /** How many events the failed call carried (more than one when coalesced). */
      count: number;
    })
  | (Base & {
      type: 'session-resumed';
      /** The first 8 hex digits of the session id. */
      session: string;
      /** The path the session left and the one it took. */
      from?: string;
      to?: string;
      stallMs: number;
      replayedBytes: number;
    })
  | (Base & {
      type: 'session-lost';
      session: string;
      reason: SessionLostReason;
      message: string;
    })
  | (Base & { type: 'metrics'; snapshot: import('../metrics/types').MetricsSnapshot })
  | (Base & {
      type: 'error';
      pathId?: string;
      provider?: string;
      message: string;
      fatal: boolean;
      code: string;
    });

export type EventType = TunnelmuxEvent['type'];
export type EventOf<T extends EventType> = Extract<TunnelmuxEvent, { type: T }>;

/** Distributive Omit, so each member of the union keeps its own fields. */
export type EventInput = TunnelmuxEvent extends infer E
  ? E extends unknown
    ? Omit<E, 'time' | 'seq'>
    : never
  : never;

export const EVENT_TYPES: readonly EventType[] = [
  'state-change',
  'connected',
  'disconnected',
  'reconnecting',
  'probe',
  'dial-failed',
  'public-url',
  'log',
  'path-draining',
  'path-drained',
  'primary-change',
  'failover',
  'no-healthy-path',
  'healthy-path-restored',
  'connection-refused',
  'warning',
  'hook-failed',
  'config-reloaded',
  'session-resumed',
  'session-lost',
  'metrics',
  'error',
];
