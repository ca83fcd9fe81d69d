import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
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
  /** Aborts the probe; a caller probing often may prefer `onStart`, which costs no listener per probe. */
  signal?: AbortSignal;
  /** Called once the probe starts, with a function that aborts it (e.g. when its supervisor stops). */
  onStart?: (abort: (reason: Error) => void) => void;
  now?: () => number;
  /** tcp only: how long to watch a fresh connection for an early close (default 50 ms; tests widen it). */
  settleMs?: number;
}

// A tcp target says nothing first, so a broken tunnel shows as an early close; watch this long for one.
const TCP_SETTLE_MS = 50;
// Preallocated once: every ssh probe compares its banner against it.
const SSH_PREFIX = Buffer.from('SSH-', 'latin1');
const performanceNow = () => performance.now();

/**
 * One end-to-end probe through `tunnel.dial()`: connect, and for `ssh` read the `SSH-` banner.
 * Latency is connect time (tcp) or time to banner (ssh); over `maxLatencyMs` is a failure.
 * The connection is reset, not closed, once judged: a probe every 2 s per path would otherwise leave a
 * TIME_WAIT socket behind each time (tens of thousands for a thousand paths).
 */
export async function probeTunnel(tunnel: Pick<Tunnel, 'dial'>, options: ProbeOptions): Promise<ProbeResult> {
  const now = options.now ?? performanceNow;
  const started = now();
  // One controller and one timer per probe. Every probe's timer has the same duration, and Node keeps timers of
  // one duration in one list, so this is an append, not a priority-queue insert.
  const controller = new AbortController();
  const signal = controller.signal;
  const timeoutMs = options.timeoutMs;
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  const parent = options.signal;
  const onParentAbort = parent ? () => controller.abort(parent.reason) : undefined;
  if (parent?.aborted) onParentAbort!();
  else if (onParentAbort) parent!.addEventListener('abort', onParentAbort, { once: true });
  options.onStart?.((reason) => controller.abort(reason));
  let stream: Duplex | undefined;
  try {
    stream = await tunnel.dial(signal);
    let spoke: boolean | undefined;
    if (options.protocol === 'ssh' || options.expectFirstByte) {
      let banner = await firstChunk(stream, signal);
      // A banner may come in pieces: read on while all that came is the start of `SSH-`.
      while (
        options.protocol === 'ssh' &&
        banner.length < 4 &&
        SSH_PREFIX.subarray(0, banner.length).equals(banner)
      ) {
        // firstChunk paused the stream; a new 'data' listener alone would not start it again.
        stream.resume();
        banner = Buffer.concat([banner, await firstChunk(stream, signal)]);
      }
      spoke = true;
      // Compared as bytes: the banner is only turned into text to say what was wrong with it.
      if (options.protocol === 'ssh' && !startsWithSsh(banner)) {
        const text = banner.toString('latin1', 0, 40);
        return { ok: false, error: `expected an SSH banner, got ${JSON.stringify(text)}` };
      }
    }
    const latencyMs = now() - started;
    if (spoke === undefined) {
      const settled = await settle(stream, Math.min(options.settleMs ?? TCP_SETTLE_MS, timeoutMs), signal);
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
    clearTimeout(timer);
    if (onParentAbort) parent!.removeEventListener('abort', onParentAbort);
    if (stream) resetStream(stream);
  }
}

const startsWithSsh = (banner: Buffer) => banner.length >= 4 && banner.compare(SSH_PREFIX, 0, 4, 0, 4) === 0;

/** Close a probe's stream without a TIME_WAIT: reset a TCP socket, destroy anything else. */
function resetStream(stream: Duplex): void {
  if (stream instanceof Socket) {
    try {
      stream.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle (a unix socket, say): there is nothing to reset, so close it plainly.
    }
  }
  stream.destroy();
}

/** The first chunk the stream yields, as latin1 text; rejects on end, error or abort. */
export async function firstBytes(stream: Duplex, signal: AbortSignal): Promise<string> {
  return (await firstChunk(stream, signal)).toString('latin1');
}

/** The first chunk the stream yields, as it came (no copy); rejects on end, error or abort. */
export function firstChunk(stream: Duplex, signal: AbortSignal): Promise<Buffer> {
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
      resolve(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
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
