import type { RoutingStrategy } from '../config/schema';
import type { PrimaryChangeReason } from '../events/types';
import { beatsByMargin, byLatency, chooseByLatency, type LatencyDamping } from './latency-choice';

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
  /** Recent probe latency in ms, for the latency strategy; undefined until measured. */
  latencyMs?: number;
}

export interface SelectInput {
  candidates: readonly PrimaryCandidate[];
  current?: string;
  pinned?: string;
  autoFailover: boolean;
  autoRecover: boolean;
  minDwellMs: number;
  now: number;
  /** priority (default): strict priority with damped failback. latency: the fastest, damped by `latency`. */
  strategy?: RoutingStrategy;
  /** Margins and dwell of the latency strategy. */
  latency?: LatencyDamping;
  /** Latency strategy state from the previous call: since when each path has beaten the primary by the margin. */
  betterSince?: Readonly<Record<string, number>>;
}

export interface SelectOutcome {
  primary?: string;
  /** Set when the primary changes. */
  reason?: PrimaryChangeReason;
  /** The pin no longer holds (its path is down or gone). */
  clearPin: boolean;
  /** Latency strategy state to pass to the next call (empty for the priority strategy). */
  betterSince: Record<string, number>;
}

const NO_LATENCY: LatencyDamping = { marginMs: 5, marginPercent: 20, dwellMs: 10_000 };

const byPreference = (a: PrimaryCandidate, b: PrimaryCandidate) =>
  a.priority - b.priority || a.order - b.order;

/**
 * Strict priority with a pin and damped failback: the primary is the pinned path while it is healthy, else the
 * current one while it is healthy unless a better one has been back for `minDwellMs`, else the best healthy path.
 * With the latency strategy "better" means faster by both margins for the whole dwell (latency-choice.ts); a pin,
 * manual mode and failover away from an unhealthy primary work the same for both strategies.
 */
export function selectPrimary(input: SelectInput): SelectOutcome {
  const latency = input.strategy === 'latency';
  const byId = new Map(input.candidates.map((candidate) => [candidate.id, candidate]));
  let betterSince: Record<string, number> = {};
  const change = (
    primary: string | undefined,
    reason: PrimaryChangeReason,
    clearPin = false,
  ): SelectOutcome =>
    primary === input.current
      ? { primary, clearPin, betterSince }
      : { primary, reason, clearPin, betterSince: {} };
  const keep = (primary: string, clearPin: boolean): SelectOutcome => ({ primary, clearPin, betterSince });

  let clearPin = false;
  if (input.pinned !== undefined) {
    const pinned = byId.get(input.pinned);
    if (pinned?.healthy) return change(pinned.id, 'manual');
    clearPin = true;
  }
  const healthy = input.candidates.filter((candidate) => candidate.healthy);
  // Only the latency choice needs them all in order; strict priority needs the best one alone.
  if (latency) healthy.sort(byLatency);
  const best = latency ? healthy[0] : preferred(healthy);
  const current = input.current === undefined ? undefined : byId.get(input.current);

  if (current?.healthy) {
    if (latency) {
      if (!input.autoFailover) return keep(current.id, clearPin);
      const choice = chooseByLatency({
        current,
        healthy,
        damping: input.latency ?? NO_LATENCY,
        betterSince: input.betterSince ?? {},
        now: input.now,
      });
      betterSince = choice.betterSince;
      return choice.moved ? change(choice.primary, 'latency', clearPin) : keep(current.id, clearPin);
    }
    if (!input.autoFailover || !input.autoRecover || !best || byPreference(best, current) >= 0) {
      return keep(current.id, clearPin);
    }
    if (!best.recovered) return change(best.id, 'initial', clearPin);
    // Repeat offenders must prove themselves for longer: the dwell grows with recent flaps.
    const dwellMs = input.minDwellMs * (1 + Math.min(Math.max(0, (best.flaps ?? 0) - 1), 8));
    const dwelt = best.upSince !== undefined && input.now - best.upSince >= dwellMs;
    return dwelt ? change(best.id, 'failback', clearPin) : keep(current.id, clearPin);
  }
  // Manual mode keeps a primary that is still supervised, even while it is down.
  if (!input.autoFailover && current?.running) return keep(current.id, clearPin);
  if (!best) {
    const why = input.current === undefined ? 'initial' : current?.running === false ? 'stopped' : 'failover';
    return change(undefined, why, clearPin);
  }
  const reason: PrimaryChangeReason =
    input.current === undefined ? 'initial' : current?.running === false ? 'stopped' : 'failover';
  return change(best.id, clearPin && input.current === input.pinned ? 'failover' : reason, clearPin);
}

/** The most preferred candidate (lowest priority, then start order), in one pass. */
function preferred(candidates: readonly PrimaryCandidate[]): PrimaryCandidate | undefined {
  let best: PrimaryCandidate | undefined;
  for (const candidate of candidates) if (!best || byPreference(candidate, best) < 0) best = candidate;
  return best;
}

/**
 * Whether a probe of the healthy path `probed` can change what selectPrimary would choose. While the primary is
 * healthy: a pin that holds it holds whatever probes say; under strict priority only a path preferred over the
 * primary can take it back (after its dwell); under the latency strategy only the primary's own latency, a path
 * that now beats it, or a path whose dwell clock runs can move anything. Everything else would re-run the
 * selection for nothing: with thousands of paths that is most probes, and each selection reads every path.
 */
export function probeMayMovePrimary(input: {
  probed: PrimaryCandidate;
  primary: PrimaryCandidate | undefined;
  /** A pin is set and names the primary. */
  pinHolds: boolean;
  strategy?: RoutingStrategy;
  latency?: LatencyDamping;
  betterSince: Readonly<Record<string, number>>;
}): boolean {
  const { probed, primary } = input;
  if (!primary?.healthy) return true;
  if (input.pinHolds) return false;
  if (input.strategy !== 'latency') return byPreference(probed, primary) < 0;
  return (
    probed.id === primary.id ||
    input.betterSince[probed.id] !== undefined ||
    beatsByMargin(probed, primary, input.latency ?? NO_LATENCY)
  );
}
