import { deadline } from '../async/deadline';
import { errorMessage } from '../errors';
import type { ProbeResult } from '../failover/probe';
import type { Tunnel } from '../provider/types';
import { SessionError } from '../session/errors';
import { probeRelay } from '../session/probe';

/**
 * With resume on, a path is healthy when a probe through it reaches the relay, both sides prove the key and the
 * relay's target accepts a connection: end to end, as a plain probe is without a relay. A refused key is not the
 * path's fault (every path would fail alike), so the path stays up and the refusal is reported as a warning.
 */
export async function probeRelayPath(
  tunnel: Pick<Tunnel, 'dial'>,
  options: { key: Buffer; timeoutMs: number; maxLatencyMs: number; signal?: AbortSignal },
): Promise<ProbeResult & { warning?: string }> {
  const started = performance.now();
  const { signal, done } = deadline(
    options.timeoutMs,
    options.signal,
    () => new Error(`no answer within ${options.timeoutMs} ms`),
  );
  let stream: Awaited<ReturnType<Tunnel['dial']>> | undefined;
  try {
    stream = await tunnel.dial(signal);
    const opened = stream;
    signal.addEventListener('abort', () => opened.destroy(), { once: true });
    // A path that dies mid-probe (its process killed) must fail the probe now, not at the timeout: the supervisor
    // notices a crash only between probes.
    const cut = new Promise<never>((_, reject) => {
      const fail = () => reject(new Error('the path closed the connection before the relay answered'));
      if (opened.destroyed) fail();
      else opened.once('close', fail);
    });
    cut.catch(() => undefined);
    const result = await Promise.race([
      probeRelay(stream, { key: options.key, timeoutMs: options.timeoutMs }),
      cut,
    ]);
    const latencyMs = performance.now() - started;
    if (!result.ok)
      return { ok: false, latencyMs, error: `the relay cannot reach its target: ${result.message}` };
    if (latencyMs > options.maxLatencyMs) {
      return {
        ok: false,
        latencyMs,
        error: `latency ${Math.round(latencyMs)} ms is over maxLatency ${options.maxLatencyMs} ms`,
      };
    }
    return { ok: true, latencyMs };
  } catch (error) {
    if (error instanceof SessionError && error.reason === 'key-refused') {
      return {
        ok: true,
        latencyMs: performance.now() - started,
        warning: `path probe: ${error.message}`,
      };
    }
    return {
      ok: false,
      error: signal.aborted ? errorMessage(signal.reason) : `relay probe: ${errorMessage(error)}`,
    };
  } finally {
    done();
    stream?.destroy();
  }
}
