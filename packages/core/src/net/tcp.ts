import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { monotonicNow } from '../async/monotonic';
import { TunnelmuxError } from '../errors';
import type { Target } from '../provider/types';

/** `host:port`, with brackets for IPv6. */
export function formatTarget(target: Target): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** A free TCP port on `host`: bind port 0, read it, release it. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A connected socket to `target`, or a rejection on error, abort or timeout (default 5 s). */
export function dialTcp(
  target: Target,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<net.Socket> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    // Half-open so a client's half-close travels end to end.
    const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    const done = (error?: Error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', done);
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        resolve(socket);
      }
    };
    const onAbort = () => done(abortReason(options.signal));
    const timer = setTimeout(
      () => done(new TunnelmuxError(`connect to ${formatTarget(target)} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('connect', () => done());
    socket.once('error', done);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Poll-connect until `target` accepts. Bounded by `timeoutMs` (default 30 s); rejects early on abort or
 * when `until` settles (e.g. the tool exited before listening).
 */
export async function waitForPort(
  target: Target,
  options: { signal?: AbortSignal; timeoutMs?: number; until?: Promise<unknown> } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = monotonicNow() + timeoutMs;
  let settled: { error: Error } | undefined;
  options.until?.then(
    () => {
      settled = {
        error: new TunnelmuxError(`gave up waiting for ${formatTarget(target)}: the process ended`),
      };
    },
    (error: unknown) => {
      settled = { error: error instanceof Error ? error : new Error(String(error)) };
    },
  );
  let delay = 10;
  for (;;) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    if (settled) throw settled.error;
    try {
      const socket = await dialTcp(target, { signal: options.signal, timeoutMs: Math.min(1000, timeoutMs) });
      socket.destroy();
      return;
    } catch (error) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (monotonicNow() >= deadline) {
        throw new TunnelmuxError(
          `${formatTarget(target)} did not accept connections within ${timeoutMs} ms`,
          {
            cause: error,
          },
        );
      }
    }
    await sleep(delay).catch(() => undefined);
    delay = Math.min(delay * 2, 200);
  }
}

/** The reason an AbortSignal carries, as an Error. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new TunnelmuxError('aborted', { cause: reason });
}
