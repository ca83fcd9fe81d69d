import type { Report, ServiceReport } from '@tunnelmux/history';
import { bytes, colors, ms, table } from '../util/output';

// One character per day, by availability; a day tunnelmux did not run is a dot.
const LEVELS: [number, string][] = [
  [1, '█'],
  [0.999, '▇'],
  [0.99, '▆'],
  [0.95, '▅'],
  [0.9, '▄'],
  [0.75, '▃'],
  [0.5, '▂'],
  [0, '▁'],
];

/** A day's availability as one bar character. */
export function dayBar(availability: number | null): string {
  if (availability === null) return '·';
  return LEVELS.find(([floor]) => availability >= floor)?.[1] ?? '▁';
}

export const BAR_LEGEND = '█ 100%  ▇ ≥99.9%  ▆ ≥99%  ▅ ≥95%  ▄ ≥90%  ▃ ≥75%  ▂ ≥50%  ▁ <50%  · not running';

/** `99.95%`: two decimals, never rounded up to 100% unless it is. */
export function percent(value: number | null): string {
  if (value === null) return '-';
  if (value >= 1) return '100%';
  return `${(Math.floor(value * 10_000) / 100).toFixed(2)}%`;
}

function duration(value: number): string {
  return value === 0 ? '0' : ms(value);
}

/** The plain report: per service a summary, a per-day bar, and a table of its paths. */
export function renderReport(report: Report): string {
  return report.services.map(renderService).join('\n\n');
}

function renderService(s: ServiceReport): string {
  const head = `${colors.bold(`${s.instance} · ${s.service}`)}: ${colorPercent(s.availability)} available over ${ms(s.observedMs)} watched (${s.runs} run${s.runs === 1 ? '' : 's'}), no healthy path for ${duration(s.noHealthyPathMs)}, ${s.failovers} failover${s.failovers === 1 ? '' : 's'}, ${s.outages} outage${s.outages === 1 ? '' : 's'}${s.outages > 0 ? ` (longest ${ms(s.longestOutageMs)}, MTTR ${s.mttrMs === null ? '-' : ms(s.mttrMs)})` : ''}`;
  const first = s.days[0]?.day.slice(5) ?? '';
  const last = s.days.at(-1)?.day.slice(5) ?? '';
  const bar = `  days ${first} ${s.days.map((d) => dayBar(d.availability)).join('')} ${last}`;
  const rows = s.paths.map((p) => [
    p.path,
    colorPercent(p.availability),
    duration(p.primaryMs),
    String(p.failovers),
    String(p.outages),
    p.outages > 0 ? ms(p.longestOutageMs) : '-',
    p.mttrMs === null ? '-' : ms(p.mttrMs),
    p.latencyP50Ms === null ? '-' : ms(p.latencyP50Ms),
    p.latencyP99Ms === null ? '-' : ms(p.latencyP99Ms),
    p.probes > 0 ? `${p.probes}/${p.failedProbes}` : '-',
    String(p.connections),
    `${bytes(p.bytesIn)} / ${bytes(p.bytesOut)}`,
  ]);
  const header = [
    'path',
    'up',
    'primary',
    'failovers',
    'outages',
    'longest',
    'MTTR',
    'p50',
    'p99',
    'probes/failed',
    'conns',
    'in / out',
  ];
  const body = table(rows, header)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return `${head}\n${bar}\n${body}`;
}

function colorPercent(value: number | null): string {
  const text = percent(value);
  if (value === null) return colors.dim(text);
  if (value >= 0.999) return colors.green(text);
  if (value >= 0.99) return colors.yellow(text);
  return colors.red(text);
}
