import type { Attempt } from './load';
import type { Span } from './timeline';

export interface ChartInput {
  startedAt: number;
  endAt: number;
  seed: number;
  samples: {
    t: number;
    who: string;
    rssBytes?: number;
    fds?: number;
    heapUsedBytes?: number;
    activeResources?: number;
  }[];
  instances: { name: string; attempts: Attempt[]; none: Span[]; primaryChanges: number[] }[];
}

const WIDTH = 1000;
const PANEL = 150;
const LEFT = 70;
const RIGHT = 20;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b'];

/** A hand-built SVG: RSS, fds, heap and handles per process; connection rate and failures; primary changes. */
export function renderChart(input: ChartInput): string {
  const span = Math.max(1, input.endAt - input.startedAt);
  const x = (t: number) => LEFT + ((t - input.startedAt) / span) * (WIDTH - LEFT - RIGHT);
  const panels: string[] = [];
  const who = [...new Set(input.samples.map((s) => s.who))];
  const main = input.instances[0];
  let top = 30;

  const panel = (
    title: string,
    series: { name: string; points: { t: number; y: number }[]; bars?: boolean; color: string }[],
  ) => {
    const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.y)));
    const y = (v: number) => top + PANEL - (v / max) * (PANEL - 20);
    const parts = [
      `<text x="${LEFT}" y="${top + 12}" font-size="12" font-weight="bold">${esc(title)}</text>`,
    ];
    parts.push(
      `<line x1="${LEFT}" y1="${top + PANEL}" x2="${WIDTH - RIGHT}" y2="${top + PANEL}" stroke="#999"/>`,
    );
    parts.push(`<text x="${LEFT - 5}" y="${y(max) + 4}" font-size="10" text-anchor="end">${fmt(max)}</text>`);
    parts.push(`<text x="${LEFT - 5}" y="${top + PANEL}" font-size="10" text-anchor="end">0</text>`);
    // Shade the spans of the main instance with no healthy path, and mark its primary changes.
    for (const none of main?.none ?? []) {
      parts.push(
        `<rect x="${x(none.from)}" y="${top + 16}" width="${Math.max(1, x(none.to) - x(none.from))}" height="${PANEL - 16}" fill="#f4cccc" opacity="0.6"/>`,
      );
    }
    series.forEach((s, i) => {
      if (s.bars) {
        for (const p of s.points)
          if (p.y > 0)
            parts.push(
              `<rect x="${x(p.t) - 1}" y="${y(p.y)}" width="2" height="${top + PANEL - y(p.y)}" fill="${s.color}"/>`,
            );
      } else if (s.points.length > 0) {
        parts.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="1.2" points="${s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ')}"/>`,
        );
      }
      parts.push(
        `<text x="${WIDTH - RIGHT - 150}" y="${top + 12 + i * 12}" font-size="10" fill="${s.color}">${esc(s.name)}</text>`,
      );
    });
    panels.push(parts.join('\n'));
    top += PANEL + 25;
  };

  const metric = (key: 'rssBytes' | 'fds' | 'heapUsedBytes' | 'activeResources', scale = 1) =>
    who.map((name, i) => ({
      name,
      color: COLORS[i % COLORS.length]!,
      points: input.samples
        .filter((s) => s.who === name && typeof s[key] === 'number')
        .map((s) => ({ t: s.t, y: (s[key] as number) / scale }))
        .sort((a, b) => a.t - b.t),
    }));
  panel('RSS (MiB)', metric('rssBytes', 1024 * 1024));
  panel('open file descriptors', metric('fds'));
  panel('V8 heap used (MiB)', metric('heapUsedBytes', 1024 * 1024));
  panel('active handles and requests', metric('activeResources'));

  // Connections per second and failures per 2 s bucket, per instance.
  const bucketMs = 2000;
  const buckets = Math.ceil(span / bucketMs);
  const rate = input.instances.map((instance, i) => {
    const ok = new Array<number>(buckets).fill(0);
    for (const a of instance.attempts)
      if (a.outcome === 'ok')
        ok[Math.min(buckets - 1, Math.floor((a.from - input.startedAt) / bucketMs))]! += 1;
    return {
      name: `${instance.name} ok/s`,
      color: COLORS[i % COLORS.length]!,
      points: ok.map((n, b) => ({ t: input.startedAt + b * bucketMs, y: n / (bucketMs / 1000) })),
    };
  });
  panel('new connections per second (red shade: no healthy path on the first instance)', rate);
  const fails = input.instances.map((instance, i) => {
    const failed = new Array<number>(buckets).fill(0);
    for (const a of instance.attempts)
      if (a.outcome !== 'ok')
        failed[Math.min(buckets - 1, Math.floor((a.from - input.startedAt) / bucketMs))]! += 1;
    return {
      name: `${instance.name} failed or cut`,
      color: COLORS[i % COLORS.length]!,
      bars: true,
      points: failed.map((n, b) => ({ t: input.startedAt + b * bucketMs, y: n })),
    };
  });
  panel('failed and cut connections per 2 s', fails);
  const changes = input.instances.map((instance, i) => ({
    name: `${instance.name} primary changes`,
    color: COLORS[i % COLORS.length]!,
    bars: true,
    points: instance.primaryChanges.map((t) => ({ t, y: 1 + i * 0.2 })),
  }));
  panel('primary changes', changes);

  // Time axis in minutes.
  const axis: string[] = [];
  const minutes = span / 60_000;
  const step = minutes > 10 ? 5 : 1;
  for (let m = 0; m <= minutes; m += step)
    axis.push(
      `<text x="${x(input.startedAt + m * 60_000)}" y="${top}" font-size="10" text-anchor="middle">${m} min</text>`,
    );
  const height = top + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${LEFT}" y="18" font-size="14" font-weight="bold">tunnelmux soak, seed ${input.seed}, ${minutes.toFixed(1)} min</text>`,
    ...panels,
    ...axis,
    '</svg>',
  ].join('\n');
}

function fmt(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
