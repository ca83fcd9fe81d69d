import type { ManagerStatus, MetricsSnapshot, PathStatus, TunnelmuxEvent } from '@tunnelmux/core';
import type { EventType } from '@tunnelmux/core/events';
import { request, streamEvents } from '../control/client';
import type { RelayStatus } from '../control/relay-instance';
import { shown } from '../control/shown';
import { formatEvent } from '../render/events';
import { relayStatusText } from '../render/relay';
import { servicesStatusText, statusTable } from '../render/status';
import type { ServicesStatus } from '../services/runtime';
import { usageError } from '../util/errors';
import { bytes, colors, ms, printJson, printLine, table } from '../util/output';
import { type ControlOptions, resolveSocket } from './instance';

export async function status(options: ControlOptions): Promise<void> {
  const result = await request<ManagerStatus | RelayStatus | ServicesStatus>(
    await resolveSocket(options),
    'status',
    undefined,
    options,
  );
  if (options.json) printJson(result);
  else if ('kind' in result && result.kind === 'relay') process.stdout.write(`${relayStatusText(result)}\n`);
  else if ('services' in result && !('paths' in result && result.paths))
    process.stdout.write(`${servicesStatusText(result)}\n`);
  else process.stdout.write(`${statusTable(result as ManagerStatus)}\n`);
}

export async function list(options: ControlOptions): Promise<void> {
  const paths = await request<(PathStatus & { service?: string })[]>(
    await resolveSocket(options),
    'list',
    undefined,
    options,
  );
  if (options.json) printJson(paths);
  else
    for (const path of paths)
      process.stdout.write(
        `${pathName(path, paths)}\t${path.provider}\t${path.state}${path.primary ? '\tprimary' : ''}\n`,
      );
}

export async function metrics(options: ControlOptions & { format?: string }): Promise<void> {
  const socket = await resolveSocket(options);
  const format = options.format ?? (options.json ? 'json' : 'table');
  if (format === 'prometheus') {
    const result = await request<{ text: string }>(socket, 'prometheus', undefined, options);
    process.stdout.write(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
    return;
  }
  const snapshot = await request<MetricsSnapshot>(socket, 'metrics', undefined, options);
  // A relay has no paths to tabulate: its counters are shown as they are (and in words by `status`).
  if (format === 'json' || !Array.isArray(snapshot.paths)) {
    printJson(snapshot);
    return;
  }
  const rows = snapshot.paths.map((path) => [
    pathName(path, snapshot.paths),
    path.state,
    ms(path.latencyMs.p50),
    ms(path.latencyMs.p95),
    bytes(path.bytesIn),
    bytes(path.bytesOut),
    String(path.totalConnections),
    String(path.failedDials),
    String(path.restarts),
  ]);
  process.stdout.write(
    `${table(rows, ['PATH', 'STATE', 'P50', 'P95', 'IN', 'OUT', 'CONNS', 'FAILED', 'RESTARTS'])}\n` +
      `primary ${snapshot.primary ?? colors.red('none')}  failovers ${snapshot.failovers}  ` +
      `no-healthy ${Math.round(snapshot.noHealthyPathMs)}ms  refused ${snapshot.refusedConnections}\n`,
  );
}

export async function events(
  options: ControlOptions & { follow?: boolean; type?: string[]; limit?: string; all?: boolean },
): Promise<void> {
  const named = (options.type ?? []).flatMap((t) => t.split(',')).filter(Boolean);
  // Loaded here, not at the top: status and list, the commands run most, need nothing of core.
  const { EVENT_TYPES } = await import('@tunnelmux/core/events');
  const isType = (t: string): t is EventType => (EVENT_TYPES as readonly string[]).includes(t);
  const types = named.filter(isType);
  const unknown = named.filter((t) => !isType(t));
  if (unknown.length > 0) {
    throw usageError(
      `[tunnelmux] unknown event type ${unknown.map((t) => `"${t}"`).join(', ')}; expected ${EVENT_TYPES.join(', ')}`,
    );
  }
  const limit = parseLimit(options.limit ?? '50');
  const socket = await resolveSocket(options);
  const show = (event: TunnelmuxEvent) => {
    if (options.json) printLine(event);
    else process.stdout.write(`${formatEvent(event)}\n`);
  };
  if (!options.follow) {
    const recent = await request<TunnelmuxEvent[]>(
      socket,
      'events',
      { types, limit, all: options.all },
      options,
    );
    for (const event of recent) show(event);
    return;
  }
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    for await (const event of streamEvents(socket, { types, limit, all: options.all }, abort.signal, options))
      show(event as TunnelmuxEvent);
  } catch (error) {
    // Ctrl-C ends a follow normally.
    if (!abort.signal.aborted) throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** `--service <name>`: which service a path command acts on (needed only when the instance runs several). */
type ServiceOption = { service?: string };

export async function primary(
  id: string | undefined,
  options: ControlOptions & ServiceOption & { clear?: boolean },
): Promise<void> {
  if (!id && !options.clear)
    throw usageError('[tunnelmux] name a path to pin (tunnelmux primary <path>) or pass --clear');
  if (id && options.clear) throw usageError('[tunnelmux] give either a path or --clear, not both');
  const result = await request<ManagerStatus>(
    await resolveSocket(options),
    'primary',
    {
      id: options.clear ? null : id,
      service: options.service,
    },
    options,
  );
  if (options.json) printJson(result);
  else
    process.stdout.write(
      options.clear
        ? `pin cleared; primary is ${result.primary ?? 'none'}\n`
        : `primary is ${result.primary}\n`,
    );
}

export async function failover(value: string, options: ControlOptions & ServiceOption): Promise<void> {
  if (value !== 'on' && value !== 'off')
    throw usageError(`[tunnelmux] failover takes "on" or "off", got "${value}"`);
  const result = await request<ManagerStatus>(
    await resolveSocket(options),
    'failover',
    {
      enabled: value === 'on',
      service: options.service,
    },
    options,
  );
  if (options.json) printJson(result);
  else
    process.stdout.write(
      `automatic failover ${result.autoFailover ? 'on' : 'off'}; primary is ${result.primary ?? 'none'}\n`,
    );
}

export async function restart(id: string, options: ControlOptions & ServiceOption): Promise<void> {
  const result = await request<PathStatus>(
    await resolveSocket(options),
    'restart',
    { id, service: options.service },
    options,
  );
  if (options.json) printJson(result);
  else process.stdout.write(`${result.id} restarted: ${result.state}\n`);
}

export async function stop(id: string, options: ControlOptions & ServiceOption): Promise<void> {
  const result = await request<PathStatus>(
    await resolveSocket(options),
    'stop',
    { id, service: options.service },
    options,
  );
  if (options.json) printJson(result);
  else process.stdout.write(`${result.id} stopped: ${result.state}\n`);
}

/** `id`, or `service/id` when the paths come from several services (two may share an id). */
function pathName(path: { id: string }, all: readonly object[]): string {
  const serviceOf = (p: object) => (p as { service?: string }).service ?? 'default';
  const services = new Set(all.map(serviceOf));
  return services.size > 1 ? `${serviceOf(path)}/${path.id}` : path.id;
}

// Digits only: Number() would also take "1e3", "0x10", " 5" and "" (as 0).
function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 100_000) {
    throw usageError(
      `[tunnelmux] --limit must be 0 or a positive whole number up to 100000 (how many past events to show), got ${shown(value)}`,
    );
  }
  return Number(value);
}
