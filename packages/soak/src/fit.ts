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
