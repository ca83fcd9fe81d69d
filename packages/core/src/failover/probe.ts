import type { Duplex } from 'node:stream';
import { deadline } from '../async/deadline';
import { errorMessage } from '../errors';
import { isOutOfDescriptors } from '../net/local-exhaustion';
import type { Tunnel } from '../provider/types';

export interface ProbeResult {
  ok: boolean;
  latencyMs?: number;
  error?: string;
  /** The target sent bytes first (tcp probes learn this, so a silent black hole can be caught later). */
  spoke?: boolean;
  /** The probe could not tell: this process is out of file descriptors. Counts neither for nor against. */
  inconclusive?: boolean;
}

export interface ProbeOptions {
  protocol: 'ssh' | 'tcp';
  /** tcp only: the target is known to speak first, so wait for its first bytes as for ssh. */
  expectFirstByte?: boolean;
  timeoutMs: number;
  maxLatencyMs: number;
  signal?: AbortSignal;
  now?: () => number;
}

// A tcp target says nothing first, so a broken tunnel shows as an early close; watch this long for one.
const TCP_SETTLE_MS = 50;

/**
 * One end-to-end probe through `tunnel.dial()`: connect, and for `ssh` read the `SSH-` banner.
 * Latency is connect time (tcp) or time to banner (ssh); over `maxLatencyMs` is a failure.
 */
export async function probeTunnel(tunnel: Pick<Tunnel, 'dial'>, options: ProbeOptions): Promise<ProbeResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const { signal, done } = deadline(
    options.timeoutMs,
    options.signal,
    () => new Error(`no answer within ${options.timeoutMs} ms`),
  );
  let stream: Duplex | undefined;
  try {
    stream = await tunnel.dial(signal);
    let spoke: boolean | undefined;
    if (options.protocol === 'ssh' || options.expectFirstByte) {
      const banner = await firstBytes(stream, signal);
      spoke = true;
      if (options.protocol === 'ssh' && !banner.startsWith('SSH-')) {
        return { ok: false, error: `expected an SSH banner, got ${JSON.stringify(banner.slice(0, 40))}` };
      }
    }
    const latencyMs = now() - started;
    if (spoke === undefined) {
      const settled = await settle(stream, Math.min(TCP_SETTLE_MS, options.timeoutMs), signal);
      if (settled.closed)
        return { ok: false, latencyMs, error: `the path closed the connection at once (${settled.closed})` };
      spoke = settled.spoke;
    }
    if (latencyMs > options.maxLatencyMs) {
      return {
        ok: false,
        latencyMs,
        spoke,
        error: `latency ${Math.round(latencyMs)} ms is over maxLatency ${options.maxLatencyMs} ms`,
      };
    }
    return { ok: true, latencyMs, spoke };
  } catch (error) {
    return {
      ok: false,
      error: signal.aborted ? errorMessage(signal.reason) : errorMessage(error),
      inconclusive: !signal.aborted && isOutOfDescriptors(error),
    };
  } finally {
    done();
    stream?.destroy();
  }
}

/** The first chunk the stream yields, as latin1 text; rejects on end, error or abort. */
export function firstBytes(stream: Duplex, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onData = (chunk: Buffer | string) => {
      cleanup();
      stream.pause();
      resolve(typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('the path closed the connection before the target spoke'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAbort = () => {
      cleanup();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Watch a fresh connection for `ms`: did it close at once, or did the target speak? */
function settle(
  stream: Duplex,
  ms: number,
  signal: AbortSignal,
): Promise<{ closed?: string; spoke: boolean }> {
  return new Promise((resolve) => {
    let spoke = false;
    const finish = (closed: string | undefined) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      signal.removeEventListener('abort', onAbortSignal);
      resolve({ closed, spoke });
    };
    const onData = () => {
      spoke = true;
    };
    const onEnd = () => finish(spoke ? undefined : 'end of stream');
    const onError = (error: Error) => finish(error.message);
    const onAbortSignal = () => finish(undefined);
    const timer = setTimeout(() => finish(undefined), ms);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    signal.addEventListener('abort', onAbortSignal, { once: true });
  });
}
