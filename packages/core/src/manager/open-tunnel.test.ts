import { describe, expect, it } from 'vitest';
import type { BaseOpenContext, Provider, Tunnel } from '../provider/types';
import { openTunnel } from './open-tunnel';

/** A tunnel that only records whether it was closed. */
function fakeTunnel() {
  const tunnel = {
    closed: 0,
    close: async () => {
      tunnel.closed += 1;
    },
  };
  return tunnel;
}

/** A provider whose open is decided by `open(signal)`; only `name` and `open` matter to openTunnel. */
function provider(open: (signal: AbortSignal) => Promise<unknown>): Provider {
  return {
    name: 'fake',
    open: (_options: unknown, ctx: BaseOpenContext) => open(ctx.signal),
  } as unknown as Provider;
}

const context = (signal: AbortSignal) => ({ signal }) as BaseOpenContext;

describe('openTunnel', () => {
  it('gives up at openTimeout and closes the tunnel that arrives after, never leaking it', async () => {
    const late = fakeTunnel();
    // Finishes its open anyway once told to stop, as a slow tool may.
    const slow = provider(
      (signal) =>
        new Promise((resolve) => signal.addEventListener('abort', () => resolve(late), { once: true })),
    );
    const opening = openTunnel({
      provider: slow,
      providerOptions: {},
      pathId: 'a',
      openTimeout: 20,
      signal: new AbortController().signal,
      context,
    });
    await expect(opening).rejects.toThrow(
      '[tunnelmux] [fake] path "a" did not open within 20 ms (failover.openTimeout)',
    );
    expect(late.closed).toBe(1);
  });

  it("ends at once with the stop's reason when the path is stopped during the open", async () => {
    const stop = new AbortController();
    const polite = provider(
      (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const opening = openTunnel({
      provider: polite,
      providerOptions: {},
      pathId: 'a',
      openTimeout: 60_000,
      signal: stop.signal,
      context,
    });
    stop.abort(new Error('path "a" stopped'));
    await expect(opening).rejects.toThrow('path "a" stopped');
  });

  it('returns the tunnel of an open that finishes in time, and wraps a plain failure with the path', async () => {
    const tunnel = fakeTunnel();
    const quick = provider(async () => tunnel);
    const args = {
      providerOptions: {},
      pathId: 'a',
      openTimeout: 60_000,
      signal: new AbortController().signal,
      context,
    };
    expect(await openTunnel({ provider: quick, ...args })).toBe(tunnel as unknown as Tunnel);
    expect(tunnel.closed).toBe(0);
    const broken = provider(async () => {
      throw new Error('no such host');
    });
    await expect(openTunnel({ provider: broken, ...args })).rejects.toThrow(
      '[tunnelmux] [fake] path "a" failed to open: no such host',
    );
  });
});
