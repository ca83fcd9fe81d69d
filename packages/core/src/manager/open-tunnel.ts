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
  let closingLate: Promise<void> | undefined;
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

/** Close a tunnel that is going away either way; its close error has nowhere useful to go. */
export async function closeQuietly(tunnel: Tunnel): Promise<void> {
  try {
    await tunnel.close();
  } catch {
    // Nothing to do: the tunnel is gone or going.
  }
}
