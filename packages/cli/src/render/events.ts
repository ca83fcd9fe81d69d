import type { TunnelmuxEvent } from '@tunnelmux/core';
import { colors, ms } from '../util/output';
import { escapeControl as t } from './text';

/** One event as one short human line: `12:00:01 ts connected 127.0.0.1:40123 pid 1234`. */
export function formatEvent(event: TunnelmuxEvent): string {
  const time = colors.dim(new Date(event.time).toISOString().slice(11, 19));
  // Events of a named service say which; the single-service form ("default") reads as it always did.
  const service =
    event.service && event.service !== 'default' ? `${colors.dim(`[${t(event.service)}]`)} ` : '';
  return `${time} ${service}${describeEvent(event)}`;
}

/** An event in words; every kind has its own wording, and no kind is ever printed as JSON. */
export function describeEvent(event: TunnelmuxEvent): string {
  switch (event.type) {
    case 'state-change':
      return `${t(event.pathId)} ${event.from} → ${event.to}${event.reason ? colors.dim(` (${t(event.reason)})`) : ''}`;
    case 'connected':
      return `${colors.green(t(event.pathId))} connected ${t(event.endpoint)}${event.pid ? ` pid ${event.pid}` : ''}${event.publicUrl ? ` ${t(event.publicUrl)}` : ''}`;
    case 'disconnected':
      return `${colors.yellow(t(event.pathId))} disconnected: ${t(event.reason)}`;
    case 'reconnecting':
      return `${t(event.pathId)} reconnecting in ${ms(event.delayMs)} (attempt ${event.attempt}): ${t(event.reason)}`;
    case 'probe':
      return `${t(event.pathId)} probe ${event.ok ? `ok ${ms(event.latencyMs)}` : colors.red(`failed: ${t(event.error ?? '')}`)}`;
    case 'dial-failed':
      return `${colors.yellow(t(event.pathId))} dial failed (${event.source}): ${t(event.reason)}`;
    case 'public-url':
      return `${t(event.pathId)} public address ${t(event.publicUrl)}`;
    case 'log':
      return `${t(event.pathId)} ${event.level}: ${t(event.message)}`;
    case 'primary-change':
      return `primary ${t(event.from ?? 'none')} → ${colors.bold(t(event.to ?? 'none'))} (${event.reason})`;
    case 'failover':
      return `${colors.red('failover')} ${t(event.from)} → ${colors.bold(t(event.to ?? 'none'))}: ${t(event.reason)}`;
    case 'no-healthy-path':
      return colors.red(`no healthy path (${event.paths} started); still retrying`);
    case 'healthy-path-restored':
      return colors.green(`healthy path back: ${t(event.pathId)} after ${ms(event.downForMs)}`);
    case 'connection-refused':
      return `${colors.yellow('refused')} a client${event.client ? ` ${t(event.client)}` : ''}: ${t(event.reason)}`;
    case 'warning':
      return `${colors.yellow('warning')}: ${t(event.message)}`;
    case 'hook-failed':
      return `${colors.yellow('hook failed')} ${t(event.hook)} (on ${t(event.on)}${event.pathId ? ` ${t(event.pathId)}` : ''}): ${t(event.reason)}`;
    case 'path-draining':
      return `${colors.yellow(t(event.pathId))} draining: out of rotation, ${event.activeConnections} live connection(s) may finish within ${ms(event.timeoutMs)}`;
    case 'path-drained':
      return `${t(event.pathId)} drained after ${ms(event.waitedMs)}${event.closedConnections > 0 ? `, ${event.closedConnections} connection(s) cut` : ''}`;
    case 'config-reloaded':
      return `config reloaded: ${reloadList('added', event.added)}, ${reloadList('removed', event.removed)}, ${reloadList('changed', event.changed)}${event.failed.length > 0 ? `, ${colors.red(`${event.failed.length} failed`)} (${event.failed.map((f) => `${t(f.item)}: ${t(f.reason)}`).join('; ')})` : ''}`;
    case 'session-resumed':
      return `${colors.green('session resumed')} ${t(event.session)}: ${t(event.from ?? 'a lost path')} → ${colors.bold(t(event.to ?? 'another path'))} after ${ms(event.stallMs)}, ${event.replayedBytes} bytes replayed`;
    case 'session-lost':
      return `${colors.red('session lost')} ${t(event.session || '(not opened)')}: ${SESSION_LOST[event.reason] ?? t(event.reason)} (${t(event.message)})`;
    case 'metrics':
      return `metrics: primary ${t(event.snapshot.primary ?? 'none')}, ${event.snapshot.failovers} failovers`;
    case 'error':
      return `${colors.red(event.fatal ? 'fatal error' : 'error')}${event.pathId ? ` ${t(event.pathId)}` : ''}: ${t(event.message)}`;
    default:
      return describeUnknown(event);
  }
}

// One list of a reload's outcome: `added a/x, b` or `added nothing`.
function reloadList(what: string, items: readonly string[]): string {
  return `${what} ${items.length > 0 ? items.map(t).join(', ') : 'nothing'}`;
}

// Each reason a session ends badly, in words.
const SESSION_LOST: Record<string, string> = {
  'window-expired': 'no path came back within the resume window',
  'key-refused': 'the relay refused the key (both sides need the same key file)',
  'relay-restarted': 'the relay no longer knows the session (it restarted or the window passed there)',
  'buffer-exhausted': 'the replay buffer ran out',
  reset: 'the relay or the target ended it',
  'open-failed': 'no path could open a session to the relay',
};

// A kind this CLI does not know yet (a newer instance): its name and plain fields, still in words.
function describeUnknown(event: never): string {
  const { type, time: _time, seq: _seq, ...fields } = event as Record<string, unknown>;
  const words = Object.entries(fields).map(([key, value]) =>
    value !== null && typeof value === 'object' ? `${t(key)} (…)` : `${t(key)} ${t(String(value))}`,
  );
  return `${t(String(type))}${words.length > 0 ? ` ${words.join(', ')}` : ''}`;
}
