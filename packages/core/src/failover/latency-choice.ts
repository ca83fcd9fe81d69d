/** How much faster, and for how long, another path must be before the latency strategy moves traffic to it. */
export interface LatencyDamping {
  /** Faster by at least this many milliseconds… */
  marginMs: number;
  /** …and by at least this percentage of the current path's latency. */
  marginPercent: number;
  /** For this long without a break. */
  dwellMs: number;
}

/** What the latency choice needs to know about one healthy path. */
export interface LatencyCandidate {
  id: string;
  priority: number;
  order: number;
  /** Recent probe latency (see PathRunner.recentLatency); undefined until measured. */
  latencyMs?: number;
}

/** Fastest first; unmeasured paths last; ties by priority, then start order. */
export function byLatency(a: LatencyCandidate, b: LatencyCandidate): number {
  const la = a.latencyMs ?? Number.POSITIVE_INFINITY;
  const lb = b.latencyMs ?? Number.POSITIVE_INFINITY;
  if (la !== lb) return la < lb ? -1 : 1;
  return a.priority - b.priority || a.order - b.order;
}

/** Whether `challenger` beats `current` by both margins (an unmeasured current is beaten by any measured path). */
export function beatsByMargin(
  challenger: LatencyCandidate,
  current: LatencyCandidate,
  damping: LatencyDamping,
): boolean {
  if (challenger.latencyMs === undefined || challenger.id === current.id) return false;
  if (current.latencyMs === undefined) return true;
  const gain = current.latencyMs - challenger.latencyMs;
  return gain >= damping.marginMs && gain >= (current.latencyMs * damping.marginPercent) / 100;
}

/**
 * While the current path is healthy: every other healthy path that beats it by the margin starts (or keeps) its
 * dwell clock; one that stops beating it loses its clock. Traffic moves only to the fastest of them, and only
 * once that one's clock has run for the whole dwell: a slower path that happens to have dwelt first is not an
 * intermediate stop, so traffic moves once when latencies swap. Pure: the clocks go in as `betterSince` and
 * come back out.
 */
export function chooseByLatency(input: {
  current: LatencyCandidate;
  healthy: readonly LatencyCandidate[];
  damping: LatencyDamping;
  betterSince: Readonly<Record<string, number>>;
  now: number;
}): { primary: string; moved: boolean; betterSince: Record<string, number> } {
  const { current, damping, now } = input;
  const betterSince: Record<string, number> = {};
  const beating = input.healthy.filter((candidate) => beatsByMargin(candidate, current, damping));
  for (const candidate of beating) betterSince[candidate.id] = input.betterSince[candidate.id] ?? now;
  const fastest = [...beating].sort(byLatency)[0];
  if (fastest && now - betterSince[fastest.id]! >= damping.dwellMs) {
    // After a move the clocks restart against the new current path.
    return { primary: fastest.id, moved: true, betterSince: {} };
  }
  return { primary: current.id, moved: false, betterSince };
}
