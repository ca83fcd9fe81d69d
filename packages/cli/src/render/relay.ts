import type { RelayEvent } from '@tunnelmux/core/session';
import type { RelayStatus } from '../control/relay-instance';
import { bytes, colors, ms, table } from '../util/output';
import { escapeControl } from './text';

/** One relay event in words, as `tunnelmux relay` logs it. */
export function describeRelayEvent(event: RelayEvent): string {
  switch (event.type) {
    case 'listening':
      return `relay listening on ${event.address}, target ${event.target}`;
    case 'session-opened':
      return `session ${event.session.slice(0, 8)} opened from ${event.peer}`;
    case 'carrier-lost':
      return colors.yellow(`session ${event.session.slice(0, 8)} detached: ${event.reason}`);
    case 'session-resumed':
      return colors.green(
        `session ${event.session.slice(0, 8)} resumed from ${event.peer} after ${event.stallMs} ms, ${event.replayedBytes} bytes replayed`,
      );
    case 'session-lost':
      return colors.red(`session ${event.session.slice(0, 8)} lost (${event.reason}): ${event.message}`);
    case 'session-closed':
      return `session ${event.session.slice(0, 8)} closed (${event.how})${event.message ? `: ${event.message}` : ''}`;
    case 'key-refused':
      return colors.red(
        `refused a wrong key from ${event.peer} (${event.failures} in a row; next answer in ${event.delayMs} ms)`,
      );
    case 'handshake-failed':
      return colors.dim(`handshake from ${event.peer} failed (${event.reason}): ${event.message}`);
    case 'target-unreachable':
      return colors.red(`target unreachable for ${event.peer}: ${event.message}`);
    case 'probe':
      return colors.dim(`probe from ${event.peer}: ${event.ok ? 'ok' : event.message}`);
  }
}

function ago(since: number, now: number): string {
  return ms(Math.max(0, now - since));
}

/** A relay's `status` for people: where it listens, its live sessions, and what happened since it started. */
export function relayStatusText(status: RelayStatus, now = Date.now()): string {
  const head =
    `relay ${colors.bold(escapeControl(status.name))} (pid ${status.pid}) on ${status.listen} -> ${status.target}` +
    `, window ${ms(status.windowMs)}, up ${ago(status.startedAt, now)}`;
  const rows = status.sessions.map((s) => [
    s.id,
    s.attached ? colors.green('attached') : colors.yellow(`detached ${ms(s.detachedForMs ?? 0)}`),
    escapeControl(s.peer),
    `${ago(s.since, now)} ago`,
    `${bytes(s.bytesIn)}/${bytes(s.bytesOut)}`,
    String(s.resumes),
  ]);
  const sessions =
    rows.length === 0
      ? colors.dim('no live sessions')
      : table(rows, ['SESSION', 'STATE', 'PEER', 'OPENED', 'IN/OUT', 'RESUMES']);
  const { totals } = status;
  const lost = Object.entries(totals.lost)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  const summary =
    `sessions: ${totals.live} live (${totals.detached} detached), ${totals.opened} opened, ` +
    `${totals.resumed} resumed (${bytes(totals.replayedBytes)} replayed)\n` +
    `lost: ${lost}\n` +
    `refused: ${totals.keyRefusals} wrong key, ${totals.handshakesRefused} over the handshake limit`;
  return `${head}\n${sessions}\n${summary}`;
}
