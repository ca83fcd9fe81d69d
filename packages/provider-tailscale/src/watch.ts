import type { Duplex } from 'node:stream';
import type { OpenContext, Target, TunnelEnd } from '@tunnelmux/core';
import { deferred, sleep } from '@tunnelmux/core/async';
import type { Logger } from '@tunnelmux/core/provider';
import { abortError, tailscaleError } from './cli';
import { isDaemonDown } from './status';

/** One look at tailscale: the path is over (`end`), a passing hiccup (`blip`), or all is well (undefined). */
export type Verdict = { end: string } | { blip: string } | undefined;

// Hiccups (a slow or garbled status, a backend Starting) tolerated in a row before the path counts as gone.
export const POLL_FAILURES_ALLOWED = 3;

/**
 * Look every `intervalMs` until `look` says the path is over, or hiccups `POLL_FAILURES_ALLOWED` times in a row;
 * a look that throws is a hiccup unless tailscaled itself is gone. Resolves with the reason, or undefined once
 * `signal` aborts.
 */
export async function watchUntilGone(
  look: (signal: AbortSignal) => Promise<Verdict>,
  options: { intervalMs: number; signal: AbortSignal; log: Logger },
): Promise<string | undefined> {
  const { signal } = options;
  let failures = 0;
  while (!signal.aborted) {
    await sleep(options.intervalMs, signal);
    if (signal.aborted) return undefined;
    let verdict: Verdict;
    try {
      verdict = await look(signal);
    } catch (error) {
      if (signal.aborted) return undefined;
      const message = (error as Error).message;
      verdict = isDaemonDown(message) ? { end: message } : { blip: message };
    }
    if (verdict && 'end' in verdict) return verdict.end;
    if (!verdict) {
      failures = 0;
      continue;
    }
    failures += 1;
    if (failures >= POLL_FAILURES_ALLOWED) return verdict.blip;
    options.log.warn(`status poll ${failures}/${POLL_FAILURES_ALLOWED} failed: ${verdict.blip}`);
  }
  return undefined;
}

/**
 * What both tailscale tunnels share (neither has a process of its own): `done` settled once, a status watch that
 * ends the path, a close that ends the watch first, and dials that say what failed.
 */
export abstract class WatchedTunnel {
  readonly pid = undefined;
  abstract readonly endpoint: string;
  private readonly ending = deferred<TunnelEnd>();
  readonly done = this.ending.promise;
  protected readonly stopping = new AbortController();
  protected closing?: Promise<void>;

  constructor(
    protected readonly ctx: OpenContext,
    private readonly intervalMs: number,
  ) {
    // A path stopped while still open must not keep polling or leave anything behind.
    ctx.signal.addEventListener('abort', () => void this.close(), {
      once: true,
      signal: this.stopping.signal,
    });
  }

  /** Look every interval (see watchUntilGone) and end the path with the reason once a look says it is over. */
  protected watch(look: (signal: AbortSignal) => Promise<Verdict>): void {
    const options = { intervalMs: this.intervalMs, signal: this.stopping.signal, log: this.ctx.log };
    void watchUntilGone(look, options).then((reason) => {
      if (!reason) return;
      this.ctx.log.warn(reason);
      this.finish({ reason, lastLines: [reason] });
    });
  }

  /** A TCP connection to `target`; a failure says which endpoint. */
  protected async connect(target: Target, signal?: AbortSignal): Promise<Duplex> {
    if (signal?.aborted) throw abortError(signal);
    try {
      return await this.ctx.dialTcp(target, { signal });
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      throw tailscaleError(`connect to ${this.endpoint} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private finish(end: TunnelEnd): void {
    this.ending.resolve(end);
    this.stopping.abort();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.finish({ reason: 'closed' });
      await this.release();
    })();
    return this.closing;
  }

  /** Tear down what this tunnel holds (nc children, the serve handler). */
  protected abstract release(): Promise<void>;
}
