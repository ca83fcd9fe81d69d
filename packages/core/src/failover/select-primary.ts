import type { PrimaryChangeReason } from '../events/types';

/** What the selector needs to know about one path. */
export interface PrimaryCandidate {
  id: string;
  priority: number;
  /** Start order, to break priority ties. */
  order: number;
  healthy: boolean;
  /** Still supervised (not stopped or failed for good). */
  running: boolean;
  /** Epoch ms the path last came up. */
  upSince?: number;
  /** It has been down at least once since it first came up, so failback to it is damped. */
  recovered: boolean;
  /** Recent short runs (flaps); each one after the first lengthens the dwell before failback to it. */
  flaps?: number;
}

export interface SelectInput {
  candidates: readonly PrimaryCandidate[];
  current?: string;
  pinned?: string;
  autoFailover: boolean;
  autoRecover: boolean;
  minDwellMs: number;
  now: number;
}

export interface SelectOutcome {
  primary?: string;
  /** Set when the primary changes. */
  reason?: PrimaryChangeReason;
  /** The pin no longer holds (its path is down or gone). */
  clearPin: boolean;
}

const byPreference = (a: PrimaryCandidate, b: PrimaryCandidate) =>
  a.priority - b.priority || a.order - b.order;

/**
 * Strict priority with a pin and damped failback: the primary is the pinned path while it is healthy, else the
 * current one while it is healthy unless a better one has been back for `minDwellMs`, else the best healthy path.
 */
export function selectPrimary(input: SelectInput): SelectOutcome {
  const byId = new Map(input.candidates.map((candidate) => [candidate.id, candidate]));
  const change = (
    primary: string | undefined,
    reason: PrimaryChangeReason,
    clearPin = false,
  ): SelectOutcome => (primary === input.current ? { primary, clearPin } : { primary, reason, clearPin });

  let clearPin = false;
  if (input.pinned !== undefined) {
    const pinned = byId.get(input.pinned);
    if (pinned?.healthy) return change(pinned.id, 'manual');
    clearPin = true;
  }
  const healthy = input.candidates.filter((candidate) => candidate.healthy).sort(byPreference);
  const best = healthy[0];
  const current = input.current === undefined ? undefined : byId.get(input.current);

  if (current?.healthy) {
    if (!input.autoFailover || !input.autoRecover || !best || byPreference(best, current) >= 0) {
      return { primary: current.id, clearPin };
    }
    if (!best.recovered) return change(best.id, 'initial', clearPin);
    // Repeat offenders must prove themselves for longer: the dwell grows with recent flaps.
    const dwellMs = input.minDwellMs * (1 + Math.min(Math.max(0, (best.flaps ?? 0) - 1), 8));
    const dwelt = best.upSince !== undefined && input.now - best.upSince >= dwellMs;
    return dwelt ? change(best.id, 'failback', clearPin) : { primary: current.id, clearPin };
  }
  // Manual mode keeps a primary that is still supervised, even while it is down.
  if (!input.autoFailover && current?.running) return { primary: current.id, clearPin };
  if (!best) {
    const why = input.current === undefined ? 'initial' : current?.running === false ? 'stopped' : 'failover';
    return change(undefined, why, clearPin);
  }
  const reason: PrimaryChangeReason =
    input.current === undefined ? 'initial' : current?.running === false ? 'stopped' : 'failover';
  return change(best.id, clearPin && input.current === input.pinned ? 'failover' : reason, clearPin);
}
