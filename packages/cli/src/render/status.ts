import type { ManagerStatus } from '@tunnelmux/core';
import { bytes, colors, ms, state, table } from '../util/output';
import { escapeControl } from './text';

/** `▁▂▅█` for a series of latencies; empty slots for gaps. */
export function sparkline(values: readonly (number | undefined)[], width = 16): string {
  const ticks = '▁▂▃▄▅▆▇█';
  const recent = values.slice(-width);
  const known = recent.filter((v): v is number => v !== undefined);
  if (known.length === 0) return ''.padEnd(width, ' ');
  const max = Math.max(...known, 1);
  return recent
    .map((v) =>
      v === undefined ? ' ' : ticks[Math.min(ticks.length - 1, Math.floor((v / max) * (ticks.length - 1)))],
    )
    .join('')
    .padStart(width, ' ');
}

/** The paths of a status as a table, primary marked. */
export function statusTable(status: ManagerStatus, history?: Map<string, (number | undefined)[]>): string {
  const rows = status.paths.map((path) => [
    path.primary ? colors.bold(colors.cyan('▶')) : ' ',
    path.id,
    path.provider,
    state(path.state),
    String(path.priority),
    path.latencyMs === undefined ? '-' : ms(path.latencyMs),
    ...(history ? [colors.cyan(sparkline(history.get(path.id) ?? []))] : []),
    `${bytes(path.bytesIn)}/${bytes(path.bytesOut)}`,
    path.pid === undefined ? '-' : String(path.pid),
    path.lastError && path.state !== 'connected'
      ? colors.dim(escapeControl(path.lastError.slice(0, 60)))
      : escapeControl(path.publicUrl ?? path.endpoint ?? ''),
  ]);
  const header = [
    ' ',
    'PATH',
    'PROVIDER',
    'STATE',
    'PRIO',
    'LATENCY',
    ...(history ? ['TREND'] : []),
    'IN/OUT',
    'PID',
    'ENDPOINT',
  ];
  const summary =
    `primary ${status.primary ? colors.bold(status.primary) : colors.red('none')}` +
    (status.pinned ? colors.dim(' (pinned)') : '') +
    `  failover ${status.autoFailover ? 'auto' : colors.yellow('off')}` +
    (status.degraded ? `  ${colors.red('DEGRADED: no healthy path')}` : '');
  return `${table(rows, header)}\n${summary}${sessionLines(status)}`;
}

/** The status of several services: a heading per service (name and front door), then its paths. */
export function servicesStatusText(
  status: { services: (ManagerStatus & { name: string; listen?: string })[] },
  history?: Map<string, (number | undefined)[]>,
): string {
  return status.services
    .map(
      (service) =>
        `${colors.bold(escapeControl(service.name))}${service.listen ? `  ${escapeControl(service.listen)}` : colors.dim('  (no front door)')}\n` +
        statusTable(service, history && serviceHistory(history, service.name)),
    )
    .join('\n\n');
}

// The live view keys latency history by `service/path`; one service's table reads it by path id.
export function serviceHistory(
  history: Map<string, (number | undefined)[]>,
  service: string,
): Map<string, (number | undefined)[]> {
  const prefix = `${service}/`;
  return new Map(
    [...history]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [key.slice(prefix.length), value]),
  );
}

// Shown when resume is on: each live session, the path carrying it, its bytes and resumes.
const SESSIONS_SHOWN = 8;

function sessionLines(status: ManagerStatus): string {
  const sessions = status.sessions;
  if (!sessions) return '';
  const lines = sessions
    .slice(0, SESSIONS_SHOWN)
    .map(
      (s) =>
        `  ${escapeControl(s.session)} ${escapeControl(s.client)} via ${s.attached ? escapeControl(s.path ?? '-') : colors.yellow('(resuming)')}  ${bytes(s.bytesIn)}/${bytes(s.bytesOut)}  ${s.resumes} resume(s)`,
    );
  const more =
    sessions.length > SESSIONS_SHOWN ? [colors.dim(`  … ${sessions.length - SESSIONS_SHOWN} more`)] : [];
  return `\nsessions ${sessions.length} live${lines.length > 0 ? ':' : ''}${['', ...lines, ...more].join('\n')}`;
}
