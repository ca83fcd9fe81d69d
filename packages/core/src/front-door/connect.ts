import type { Duplex } from 'node:stream';
import { errorMessage } from '../errors';
import { firstChunk } from '../failover/probe';
import { isOutOfDescriptors } from '../net/local-exhaustion';
import type { Route, RouteSource } from './route-source';

/** How to reach a path that carries a client. */
export interface ConnectOptions {
  /** `ssh` waits for the path's first byte (first-byte failover); `tcp` takes the first dial that connects. */
  protocol: 'ssh' | 'tcp';
  dialTimeout: number;
  firstByteTimeout: number;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** Called before each attempt, e.g. to count attempts. */
  onAttempt?(route: Route): void;
}

/** The reason given when a dial failed because this process ran out of file descriptors. */
export const OUT_OF_DESCRIPTORS = 'local: out of file descriptors';

/** A path that answered: its stream, and (ssh) the first bytes it sent. */
export interface Connected {
  route: Route;
  stream: Duplex;
  first?: Buffer;
}

/**
 * Dial each healthy route in order, never one that already failed, until one connects (and for ssh speaks).
 * Each failure is reported against its path. Resolves undefined, with the reasons, when none could; or when
 * the client went away.
 */
export async function connectWithFailover(
  source: RouteSource,
  options: ConnectOptions,
): Promise<{ connected?: Connected; reasons: string[] }> {
  const tried = new Set<string>();
  const reasons: string[] = [];
  const { signal } = options;
  for (;;) {
    if (signal.aborted) return { reasons };
    const route = source.routes().find((candidate) => !tried.has(candidate.id));
    if (!route) return { reasons };
    tried.add(route.id);
    options.onAttempt?.(route);
    const failed = (reason: string) => {
      if (signal.aborted) return;
      reasons.push(`${route.id}: ${reason}`);
      source.dialFailed(route.id, reason);
    };
    // One controller and one timer per attempt, re-armed from the dial's limit to the first byte's.
    const attempt = new AbortController();
    const onClientGone = () => attempt.abort(signal.reason);
    signal.addEventListener('abort', onClientGone, { once: true });
    let timer = setTimeout(
      () => attempt.abort(new Error(`timed out after ${options.dialTimeout} ms`)),
      options.dialTimeout,
    );
    let stream: Duplex;
    try {
      try {
        stream = await route.dial(attempt.signal);
      } catch (error) {
        // Our own exhaustion is no fault of the path, and every other path would fail the same way.
        if (isOutOfDescriptors(error)) {
          reasons.push(`${OUT_OF_DESCRIPTORS} (${errorMessage(error)})`);
          return { reasons };
        }
        failed(`dial failed: ${errorMessage(error)}`);
        continue;
      }
      stream.on('error', () => stream.destroy());
      if (options.protocol === 'tcp') return { connected: { route, stream }, reasons };
      clearTimeout(timer);
      timer = setTimeout(
        () => attempt.abort(new FirstByteTimeout(`no first byte within ${options.firstByteTimeout} ms`)),
        options.firstByteTimeout,
      );
      try {
        const first = await firstChunk(stream, attempt.signal);
        return { connected: { route, stream, first }, reasons };
      } catch (error) {
        stream.destroy();
        failed(describeSilence(error));
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onClientGone);
    }
  }
}

// Plain Error: its message goes into a reason string, without the [tunnelmux] prefix.
class FirstByteTimeout extends Error {}

/** Why a path gave no first byte: silent for the whole wait, or it reset or ended the connection first. */
function describeSilence(error: unknown): string {
  if (error instanceof FirstByteTimeout) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNRESET')
    return `the path reset the connection before the target spoke (${errorMessage(error)})`;
  // A system error is the path failing; anything else is firstBytes() saying the path ended the stream.
  return code === undefined
    ? errorMessage(error)
    : `the path failed before the target spoke (${errorMessage(error)})`;
}
