import type { TunnelmuxEvent } from '@tunnelmux/core';
import { EVENT_TYPES } from '@tunnelmux/core/events';

/** What a reload did: the lists `reload --json` prints and the `config-reloaded` event carries. */
export interface ReloadReport {
  /** The config file that was read. */
  file: string;
  /** Services by name, paths as `service/path`. */
  added: string[];
  removed: string[];
  /** Paths as `service/path` (replaced new-before-old), settings as `service:failover`, `service:listen`, ... */
  changed: string[];
  /** What could not be applied, with why; everything else was. */
  failed: { item: string; reason: string }[];
}

/** Emitted by `up` after every applied reload (SIGHUP, `tunnelmux reload`, `up --watch`). */
export type ConfigReloadedEvent = ReloadReport & { type: 'config-reloaded'; time: number; seq: number };

/** Every event on an `up`'s stream: core's, each carrying its service, and the CLI's own. */
export type UpEvent = (TunnelmuxEvent & { service?: string }) | ConfigReloadedEvent;

/** Event types `events --type` and the control socket accept: core's and the CLI's own. */
export const UP_EVENT_TYPES = [...EVENT_TYPES, 'config-reloaded'] as const;
