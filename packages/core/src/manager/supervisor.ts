import { deadline } from '../async/deadline';
import { monotonicNow } from '../async/monotonic';
import { sleep } from '../async/sleep';
import type { FailoverSettings } from '../config/schema';
import { errorMessage } from '../errors';
import { type ProbeResult, probeTunnel } from '../failover/probe';
import { formatTarget } from '../net/tcp';
import type { CheckResult, Target, Tunnel, TunnelEnd } from '../provider/types';
import { probeRelayPath } from './relay-probe';

// How often a provider's `check` hint runs at most.
const CHECK_EVERY_MS = 10_000;
// After the relay refused the key, probes only check that the relay is reachable for this long: a wrong key
// proven at every probe would keep the relay's per-peer slow-down at its maximum, for the sessions too.
const KEY_REFUSED_QUIET_MS = 60_000;

/** What supervision needs from its path: a few facts, and the lifecycle steps it triggers. */
export interface SupervisedPath {
  readonly id: string;
  readonly target: Target;
  readonly protocol: 'ssh' | 'tcp';
  readonly settings: FailoverSettings;
  random(): number;
  /** tcp targets seen to speak first; learned from probes, shared by the paths to them. */
  readonly speaksFirst: Set<string>;
  /** With resume on: the shared key, so probes go to the relay and ask about its target. */
  readonly relayKey?: Buffer;
  readonly connected: boolean;
  /** It came up before in this run, so it must pass `rise` probes to come back. */
  readonly everConnected: boolean;
  /** Failback to it is damped, so its probes re-run the primary selection. */
  readonly recovered: boolean;
  /** The tunnel's process ended; recorded for status. */
  exited(end: TunnelEnd): void;
  probed(result: ProbeResult & { warning?: string }, consecutiveFailures: number): void;
  /** Enough probes passed: the path is up. */
  comeUp(tunnel: Tunnel): void;
  /** Down by its probes; true while the restart should wait for live connections to drain. */
  holdForDrain(reason: string, since: number): boolean;
  /** The primary selection may need to run again. */
  changed(): void;
  /** The path has an outcome (up, or held down): the first start may resolve. */
  settled(): void;
}

/**
 * Watches one open tunnel: probes it end to end with rise/fall hysteresis and jitter, counts passive
 * failures, notices a process exit at once, and runs the provider's `check` hint now and then.
 */
export class Supervisor {
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;
  hint?: CheckResult;
  private probing = false;
  private wake?: () => void;
  private lastCheckAt = 0;
  private keyRefusedAt?: number;

  /** A live connection through the path failed: count it, and probe at once. */
  suspect(source: 'front-door' | 'provider', connected: boolean): void {
    // A provider reporting the failure of a probe's own dial: the probe result already counts it.
    if (source === 'provider' && this.probing) return;
    if (connected) this.fail();
    this.wake?.();
  }

  private keyRecentlyRefused(): boolean {
    return this.keyRefusedAt !== undefined && monotonicNow() - this.keyRefusedAt < KEY_REFUSED_QUIET_MS;
  }

  /** Clear the counts for a new run. */
  reset(): void {
    this.consecutiveFailures = 0;
    this.consecutiveSuccesses = 0;
  }

  /** Probe until the path goes down; returns why, or undefined when `signal` aborts. */
  async run(path: SupervisedPath, tunnel: Tunnel, signal: AbortSignal): Promise<string | undefined> {
    const s = path.settings;
    const needed = path.everConnected ? s.rise : 1;
    let exit: TunnelEnd | undefined;
    void tunnel.done.then(
      (end) => {
        exit = end;
        this.wake?.();
      },
      (error: unknown) => {
        exit = { reason: errorMessage(error) };
        this.wake?.();
      },
    );
    this.reset();
    const exitReason = (end: TunnelEnd) => {
      path.exited(end);
      const lines = end.lastLines ?? [];
      const tail = lines.length > 0 ? `; last output: ${lines.slice(-3).join(' | ')}` : '';
      return `${end.reason}${tail}`;
    };
    const fastInterval = s.fastInterval ?? Math.max(50, Math.round(s.interval / 4));
    const targetKey = formatTarget(path.target);
    // Set while the path is down by its probes but still carries live connections.
    let drainingSince: number | undefined;
    for (;;) {
      if (signal.aborted) return undefined;
      if (exit) return exitReason(exit);
      this.probing = true;
      const result: ProbeResult & { warning?: string } =
        tunnel.health === 'check' && tunnel.check
          ? await checkAsProbe(tunnel, s.timeout, signal)
          : path.relayKey && !this.keyRecentlyRefused()
            ? await probeRelayPath(tunnel, {
                key: path.relayKey,
                timeoutMs: s.timeout,
                maxLatencyMs: s.maxLatency,
                signal,
              })
            : await probeTunnel(tunnel, {
                // A relay waits for the client's hello: reaching it is all a plain probe can check.
                protocol: path.relayKey ? 'tcp' : path.protocol,
                expectFirstByte: !path.relayKey && path.speaksFirst.has(targetKey),
                timeoutMs: s.timeout,
                maxLatencyMs: s.maxLatency,
                signal,
              });
      this.probing = false;
      if (result.warning) this.keyRefusedAt = monotonicNow();
      if (result.ok && result.spoke) path.speaksFirst.add(targetKey);
      if (signal.aborted) return undefined;
      // A crash is down at that instant, whatever the probe said.
      if (exit) return exitReason(exit);
      if (result.ok) {
        this.consecutiveSuccesses += 1;
        this.consecutiveFailures = 0;
      } else if (!result.inconclusive) {
        this.fail();
      }
      path.probed(result, this.consecutiveFailures);
      if (!path.connected && this.consecutiveSuccesses >= needed) {
        drainingSince = undefined;
        path.comeUp(tunnel);
        path.settled();
      } else if (this.consecutiveFailures >= s.fall) {
        const reason = `${this.consecutiveFailures} failures in a row: ${result.error ?? 'unknown error'}`;
        drainingSince ??= monotonicNow();
        if (!path.holdForDrain(reason, drainingSince)) return reason;
        path.settled();
      }
      // Selection depends on states (their transitions re-run it) and on dwell time, which only matters for a
      // recovered path waiting to take the primary back: only its probes need to re-run the selection.
      if (path.recovered && path.connected) path.changed();
      void this.runCheck(tunnel, s.timeout, signal);
      const steady = path.connected && this.consecutiveFailures === 0;
      const base = steady ? s.interval : fastInterval;
      await sleep(base * (1 - s.jitter + 2 * s.jitter * path.random()), signal, (wake) => {
        this.wake = wake;
      });
      this.wake = undefined;
      // Passive failures may have pushed the path over the edge while it slept.
      if (this.consecutiveFailures >= s.fall) {
        const reason = `${this.consecutiveFailures} failures in a row, including failed dials of live traffic`;
        drainingSince ??= monotonicNow();
        if (!path.holdForDrain(reason, drainingSince)) return reason;
      }
    }
  }

  private fail(): void {
    this.consecutiveFailures += 1;
    this.consecutiveSuccesses = 0;
  }

  private async runCheck(tunnel: Tunnel, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (!tunnel.check || monotonicNow() - this.lastCheckAt < CHECK_EVERY_MS) return;
    this.lastCheckAt = monotonicNow();
    const limit = deadline(timeoutMs * 5, signal);
    try {
      this.hint = await tunnel.check(limit.signal);
    } catch (error) {
      this.hint = { ok: false, detail: errorMessage(error) };
    } finally {
      limit.done();
    }
  }
}

/** A provider's own readiness as the probe, for paths that cannot be dialled from here. */
async function checkAsProbe(tunnel: Tunnel, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const limit = deadline(timeoutMs * 5, signal);
  try {
    const hint = await tunnel.check!(limit.signal);
    return {
      ok: hint.ok,
      latencyMs: hint.latencyMs ?? performance.now() - started,
      error: hint.ok ? undefined : hint.detail,
    };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  } finally {
    limit.done();
  }
}
