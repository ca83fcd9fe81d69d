import type { TunnelmuxEvent } from '@tunnelmux/core';

/** Events too chatty for a readable timeline. */
export const NOISY_EVENTS: ReadonlySet<TunnelmuxEvent['type']> = new Set(['probe', 'log', 'metrics']);

/** `+3.02s` since `t0`. */
export function offset(time: number, t0: number): string {
  return `+${((time - t0) / 1000).toFixed(2)}s`;
}

/** One event as a readable line: `failover  a -> b  (process exited ...)`. */
export function describeEvent(event: TunnelmuxEvent): string {
  const who = 'pathId' in event && event.pathId ? `${event.pathId}: ` : '';
  switch (event.type) {
    case 'failover':
      return `failover  ${event.from} -> ${event.to ?? '(none)'}  (${event.reason})`;
    case 'primary-change':
      return `primary   ${event.from ?? '(none)'} -> ${event.to ?? '(none)'}  (${event.reason})`;
    case 'state-change':
      return `state     ${who}${event.from} -> ${event.to}  (${event.reason})`;
    case 'connected':
      return `connected ${who}${event.endpoint}${event.pid ? ` pid ${event.pid}` : ''}`;
    case 'disconnected':
      return `stopped   ${who}${event.reason}`;
    case 'reconnecting':
      return `retry     ${who}attempt ${event.attempt} in ${Math.round(event.delayMs)} ms  (${event.reason})`;
    case 'probe':
      return `probe     ${who}${event.ok ? 'ok' : 'FAIL'}${event.latencyMs === undefined ? '' : ` ${Math.round(event.latencyMs)} ms`}${event.error ? `  (${event.error})` : ''}`;
    case 'dial-failed':
      return `dial-fail ${who}${event.reason} (${event.source})`;
    case 'no-healthy-path':
      return `DEGRADED  no healthy path (${event.paths} started)`;
    case 'healthy-path-restored':
      return `restored  ${event.pathId} after ${(event.downForMs / 1000).toFixed(2)}s without a healthy path`;
    case 'connection-refused':
      return `refused   ${event.reason}`;
    case 'error':
      return `error     ${who}${event.fatal ? '(fatal) ' : ''}${event.message}`;
    case 'log':
      return `log       ${who}${event.level} ${event.message}`;
    case 'public-url':
      return `url       ${who}${event.publicUrl}`;
    case 'metrics':
      return `metrics   primary ${event.snapshot.primary ?? '(none)'}`;
    default:
      return JSON.stringify(event);
  }
}

/** Events as timeline lines, relative to `t0`; probes, logs and metrics are left out unless `all`. */
export function formatTimeline(
  events: readonly TunnelmuxEvent[],
  t0: number,
  options: { all?: boolean } = {},
): string {
  return events
    .filter((event) => options.all || !NOISY_EVENTS.has(event.type))
    .map((event) => `${offset(event.time, t0).padStart(8)}  ${describeEvent(event)}`)
    .join('\n');
}
