import { abortable } from '../async/abortable';
import { deadline } from '../async/deadline';
import { sleep } from '../async/sleep';
import { errorMessage, TunnelmuxError } from '../errors';
import type { BaseOpenContext, Provider, Tunnel } from '../provider/types';

// How long an aborted open may take to clean up after itself before the stop goes on without it.
const OPEN_CLEANUP_MS = 5000;

/**
 * Open a tunnel within `openTimeout` ms, or fail when `signal` aborts first. A tunnel that arrives after its
 * open was abandoned is closed, never leaked; an aborted provider gets a bounded moment to clean up.
 */
export async function openTunnel(options: {
  provider: Provider;
  providerOptions: unknown;
  pathId: string;
  openTimeout: number;
  signal: AbortSignal;
  /** The provider's context, bound to the open's own signal (the deadline's). */
  context(signal: AbortSignal): BaseOpenContext;
}): Promise<Tunnel> {
  const { provider, pathId, openTimeout } = options;
  const limit = deadline(
    openTimeout,
    options.signal,
    () =>
      new TunnelmuxError(`path "${pathId}" did not open within ${openTimeout} ms (failover.openTimeout)`, {
        provider: provider.name,
        pathId,
      }),
  );
  let abandoned = false;
  // One close for a late tunnel, whichever of the two watchers below sees it first.
  let closingLate: Promise<boolean> | undefined;
  const closeLate = (tunnel: Tunnel) => {
    closingLate ??= closeQuietly(tunnel);
    return closingLate;
  };
  const opening = Promise.resolve().then(() =>
    provider.open(options.providerOptions, options.context(limit.signal)),
  );
  opening.then(
    (tunnel) => {
      if (abandoned) void closeLate(tunnel);
    },
    () => undefined,
  );
  try {
    return await abortable(opening, limit.signal);
  } catch (error) {
    abandoned = true;
    if (limit.signal.aborted) {
      // The provider saw the abort too: give its own cleanup a bounded moment, so no process outlives a stop.
      const late = await Promise.race([opening.catch(() => undefined), sleep(OPEN_CLEANUP_MS)]);
      if (late && typeof late === 'object') await closeLate(late);
    }
    throw error instanceof TunnelmuxError
      ? error
      : new TunnelmuxError(`path "${pathId}" failed to open: ${errorMessage(error)}`, {
          provider: provider.name,
          pathId,
          cause: error,
        });
  } finally {
    limit.done();
  }
}

/**
 * How long a tunnel's close() may take before its path goes on without it: above every built-in provider's own
 * bound (the kit's kill grace is 3 s; tailscale's withdrawal may take 15 s when tailscaled is busy).
 */
export const TUNNEL_CLOSE_MS = 30_000;

/**
 * Close a tunnel that is going away either way; its close error has nowhere useful to go. A close that has not
 * finished after `timeoutMs` is given up: its process, if it named one, is killed, and this resolves false.
 */
export async function closeQuietly(tunnel: Tunnel, timeoutMs = TUNNEL_CLOSE_MS): Promise<boolean> {
  const limit = new AbortController();
  const closed = Promise.resolve()
    .then(() => tunnel.close())
    .then(
      () => true,
      // Nothing to do: the tunnel is gone or going.
      () => true,
    );
  const done = await Promise.race([closed, sleep(timeoutMs, limit.signal).then(() => false)]);
  limit.abort();
  if (!done && tunnel.pid !== undefined) killQuietly(tunnel.pid);
  return done;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}
