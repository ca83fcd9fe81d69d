/** Nearest-rank percentile of sorted values (p in 0..100); undefined for none. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Nearest-rank percentile of values that each stand for `weight` observations (per-minute figures). */
export function weightedPercentile(
  items: readonly { value: number; weight: number }[],
  p: number,
): number | undefined {
  const usable = items.filter((item) => item.weight > 0).sort((a, b) => a.value - b.value);
  const total = usable.reduce((sum, item) => sum + item.weight, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const item of usable) {
    seen += item.weight;
    if (seen >= rank) return item.value;
  }
  return usable.at(-1)?.value;
}
