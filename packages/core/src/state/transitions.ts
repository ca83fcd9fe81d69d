import { StateError } from '../errors';

/** The life of a path. */
export type PathState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed';

export const PATH_STATES: readonly PathState[] = [
  'disconnected',
  'connecting',
  'connected',
  'reconnecting',
  'failed',
];

/** Every allowed transition, written down once. */
export const TRANSITIONS: Readonly<Record<PathState, readonly PathState[]>> = {
  // started
  disconnected: ['connecting'],
  // opened and proven by a probe / open failed and will retry / fatal / stopped
  connecting: ['connected', 'reconnecting', 'failed', 'disconnected'],
  // went down (crash, probes, passive) / a fatal exit (credentials revoked) / stopped
  connected: ['reconnecting', 'failed', 'disconnected'],
  // back up / a fatal error while reopening / stopped
  reconnecting: ['connected', 'failed', 'disconnected'],
  // restarted by hand / stopped
  failed: ['connecting', 'disconnected'],
};

export function canTransition(from: PathState, to: PathState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throw when `from -> to` is not an allowed transition. */
export function assertTransition(from: PathState, to: PathState, pathId: string): void {
  if (!canTransition(from, to)) {
    throw new StateError(
      `path "${pathId}" cannot go from ${from} to ${to}; allowed from ${from}: ${TRANSITIONS[from].join(', ') || 'none'}`,
      { pathId },
    );
  }
}
