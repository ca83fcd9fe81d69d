import type { TunnelmuxEvent } from '@tunnelmux/core';
import { colors, ms } from '../util/output';

/** One event as one short human line: `12:00:01 ts connected 127.0.0.1:40123 pid 1234`. */
export function formatEvent(event: TunnelmuxEvent): string {
  const time = colors.dim(new Date(event.time).toISOString().slice(11, 19));
  return `${time} ${describeEvent(event)}`;
}

export function describeEvent(event: TunnelmuxEvent): string {
  switch (event.type) {
    case 'state-change':
      return `${event.pathId} ${event.from} → ${event.to}${event.reason ? colors.dim(` (${event.reason})`) : ''}`;
    case 'connected':
      return `${colors.green(event.pathId)} connected ${event.endpoint}${event.pid ? ` pid ${event.pid}` : ''}${event.publicUrl ? ` ${event.publicUrl}` : ''}`;
    case 'disconnected':
      return `${colors.yellow(event.pathId)} disconnected: ${event.reason}`;
    case 'reconnecting':
      return `${event.pathId} reconnecting in ${ms(event.delayMs)} (attempt ${event.attempt}): ${event.reason}`;
    case 'probe':
      return `${event.pathId} probe ${event.ok ? `ok ${ms(event.latencyMs)}` : colors.red(`failed: ${event.error ?? ''}`)}`;
    case 'dial-failed':
      return `${colors.yellow(event.pathId)} dial failed (${event.source}): ${event.reason}`;
    case 'public-url':
      return `${event.pathId} public address ${event.publicUrl}`;
    case 'log':
      return `${event.pathId} ${event.level}: ${event.message}`;
    case 'primary-change':
      return `primary ${event.from ?? 'none'} → ${colors.bold(event.to ?? 'none')} (${event.reason})`;
    case 'failover':
      return `${colors.red('failover')} ${event.from} → ${colors.bold(event.to ?? 'none')}: ${event.reason}`;
    case 'no-healthy-path':
      return colors.red(`no healthy path (${event.paths} started); still retrying`);
    case 'healthy-path-restored':
      return colors.green(`healthy path back: ${event.pathId} after ${ms(event.downForMs)}`);
    case 'connection-refused':
      return `${colors.yellow('refused')} a client${event.client ? ` ${event.client}` : ''}: ${event.reason}`;
    case 'metrics':
      return `metrics: primary ${event.snapshot.primary ?? 'none'}, ${event.snapshot.failovers} failovers`;
    case 'error':
      return `${colors.red(event.fatal ? 'fatal error' : 'error')}${event.pathId ? ` ${event.pathId}` : ''}: ${event.message}`;
    default:
      return JSON.stringify(event);
  }
}
