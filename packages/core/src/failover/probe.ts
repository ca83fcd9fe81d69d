import type { Duplex } from 'node:stream';
import { errorMessage } from '../errors';
import type { Tunnel } from '../provider/types';

export interface ProbeResult {
  ok: boolean;
  latencyMs?: number;
  error?: string;
}

export interface ProbeOptions {
  protocol: 'ssh' | 'tcp';
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
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`no answer within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let stream: Duplex | undefined;
  try {
    stream = await tunnel.dial(controller.signal);
    if (options.protocol === 'ssh') {
      const banner = await firstBytes(stream, controller.signal);
      if (!banner.startsWith('SSH-')) {
        return { ok: false, error: `expected an SSH banner, got ${JSON.stringify(banner.slice(0, 40))}` };
      }
    }
    const latencyMs = now() - started;
    if (options.protocol === 'tcp') {
      const early = await closedWithin(stream, Math.min(TCP_SETTLE_MS, options.timeoutMs), controller.signal);
      if (early) return { ok: false, latencyMs, error: `the path closed the connection at once (${early})` };
    }
    if (latencyMs > options.maxLatencyMs) {
      return {
        ok: false,
        latencyMs,
        error: `latency ${Math.round(latencyMs)} ms is over maxLatency ${options.maxLatencyMs} ms`,
      };
    }
    return { ok: true, latencyMs };
  } catch (error) {
    return {
      ok: false,
      error: controller.signal.aborted ? errorMessage(controller.signal.reason) : errorMessage(error),
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
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

/** Resolves with a reason when the stream ends or errors within `ms`, or undefined when it stays open. */
function closedWithin(stream: Duplex, ms: number, signal: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const finish = (reason: string | undefined) => {
      clearTimeout(timer);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      signal.removeEventListener('abort', onAbortSignal);
      resolve(reason);
    };
    const onEnd = () => finish('end of stream');
    const onError = (error: Error) => finish(error.message);
    const onAbortSignal = () => finish(undefined);
    const timer = setTimeout(() => finish(undefined), ms);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    stream.resume();
    signal.addEventListener('abort', onAbortSignal, { once: true });
  });
}
