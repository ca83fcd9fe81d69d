import { spawn } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import type { BaseOpenContext, Provider, Tunnel } from '../provider/types';
import { closeQuietly, openTunnel } from './open-tunnel';

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

describe('closeQuietly', () => {
  it('gives up on a close that hangs and kills the process the tunnel named', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const died = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const hung = { pid: child.pid, close: () => new Promise<void>(() => undefined) } as unknown as Tunnel;
    expect(await closeQuietly(hung, 50)).toBe(false);
    expect(await died).toBe('SIGKILL');
  });

  it('is true for a close that finishes, even with an error, and leaves no timer that could kill later', async () => {
    vi.useFakeTimers();
    const kill = vi.spyOn(process, 'kill');
    try {
      const failing = {
        pid: 424242,
        close: async () => {
          throw new Error('already gone');
        },
      } as unknown as Tunnel;
      expect(await closeQuietly(failing, 50)).toBe(true);
      expect(await closeQuietly({ ...fakeTunnel(), pid: 424242 } as unknown as Tunnel, 50)).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
      expect(kill).not.toHaveBeenCalled();
    } finally {
      kill.mockRestore();
      vi.useRealTimers();
    }
  });
});
