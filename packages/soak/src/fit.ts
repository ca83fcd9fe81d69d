/**
 * Theil–Sen slope of y over x: the median of the slopes between every pair of points. A linear fit that a
 * short spike (an outage dropping every connection, a GC) cannot tilt, as it can a least-squares one.
 */
export function robustSlope(points: readonly { x: number; y: number }[]): number {
  const slopes: number[] = [];
  // Every pair up to ~1,000 points; beyond, every k-th point keeps it quick and still fair.
  const step = Math.max(1, Math.ceil(points.length / 1000));
  const used = points.filter((_, i) => i % step === 0);
  for (let i = 0; i < used.length; i++) {
    for (let j = i + 1; j < used.length; j++) {
      const dx = used[j]!.x - used[i]!.x;
      if (dx !== 0) slopes.push((used[j]!.y - used[i]!.y) / dx);
    }
  }
  if (slopes.length === 0) return 0;
  slopes.sort((a, b) => a - b);
  const mid = Math.floor(slopes.length / 2);
  return slopes.length % 2 === 1 ? slopes[mid]! : (slopes[mid - 1]! + slopes[mid]!) / 2;
}

/** Least-squares slope of y over x (units of y per unit of x); 0 with fewer than two distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((sum, p) => sum + p.x, 0) / n;
  const my = points.reduce((sum, p) => sum + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** The points in the last `fraction` of the span of x. */
export function lastPart<T extends { x: number }>(points: readonly T[], fraction: number): T[] {
  if (points.length === 0) return [];
  const first = points[0]!.x;
  const end = points[points.length - 1]!.x;
  const from = end - (end - first) * fraction;
  return points.filter((p) => p.x >= from);
}
