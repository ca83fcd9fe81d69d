import { deadline } from '../async/deadline';
import { monotonicNow } from '../async/monotonic';
import type { TimerWheel } from '../async/timer-wheel';
import type { FailoverSettings } from '../config/schema';
import { errorMessage } from '../errors';
import { type ProbeOptions, type ProbeResult, probeTunnel } from '../failover/probe';
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
  /** The manager's one timer for every path's sleep between probes. */
  readonly wheel: TimerWheel;
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
  private abortProbe?: (reason: Error) => void;
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
    const everConnected = path.everConnected;
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
    // One listener for the whole run (not one per probe and per sleep): stopping ends the probe and the sleep.
    const onAbort = () => {
      this.abortProbe?.(signal.reason instanceof Error ? signal.reason : new Error('stopped'));
      this.wake?.();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.loop(path, tunnel, signal, everConnected, () => exit);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.abortProbe = undefined;
      this.wake = undefined;
    }
  }

  private async loop(
    path: SupervisedPath,
    tunnel: Tunnel,
    signal: AbortSignal,
    everConnected: boolean,
    exited: () => TunnelEnd | undefined,
  ): Promise<string | undefined> {
    // Settings are read afresh each round, so a reconfigure applies to a running path without a restart.
    let s = path.settings;
    const exitReason = (end: TunnelEnd) => {
      path.exited(end);
      const lines = end.lastLines ?? [];
      const tail = lines.length > 0 ? `; last output: ${lines.slice(-3).join(' | ')}` : '';
      return `${end.reason}${tail}`;
    };
    const targetKey = formatTarget(path.target);
    // Set while the path is down by its probes but still carries live connections.
    let drainingSince: number | undefined;
    const probeOptions = {
      // A relay waits for the client's hello: reaching it is all a plain probe can check.
      protocol: path.relayKey ? ('tcp' as const) : path.protocol,
      expectFirstByte: false,
      timeoutMs: s.timeout,
      maxLatencyMs: s.maxLatency,
      onStart: (abort: (reason: Error) => void) => {
        this.abortProbe = abort;
      },
    };
    for (;;) {
      if (signal.aborted) return undefined;
      let exit = exited();
      if (exit) return exitReason(exit);
      s = path.settings;
      const needed = everConnected ? s.rise : 1;
      const fastInterval = s.fastInterval ?? Math.max(50, Math.round(s.interval / 4));
      probeOptions.timeoutMs = s.timeout;
      probeOptions.maxLatencyMs = s.maxLatency;
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
            : await this.plainProbe(tunnel, probeOptions, !path.relayKey && path.speaksFirst.has(targetKey));
      this.probing = false;
      this.abortProbe = undefined;
      if (result.warning) this.keyRefusedAt = monotonicNow();
      if (result.ok && result.spoke) path.speaksFirst.add(targetKey);
      if (signal.aborted) return undefined;
      // A crash is down at that instant, whatever the probe said.
      exit = exited();
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
      // The latency strategy re-chooses on every probe of a healthy path: each one moves the latencies.
      if (path.connected && (path.recovered || s.strategy === 'latency')) path.changed();
      if (tunnel.check) void this.runCheck(tunnel, s.timeout, signal);
      const steady = path.connected && this.consecutiveFailures === 0;
      const base = steady ? s.interval : fastInterval;
      if (signal.aborted) return undefined;
      await this.sleep(path.wheel, base * (1 - s.jitter + 2 * s.jitter * path.random()));
      // Passive failures may have pushed the path over the edge while it slept.
      if (this.consecutiveFailures >= s.fall) {
        const reason = `${this.consecutiveFailures} failures in a row, including failed dials of live traffic`;
        drainingSince ??= monotonicNow();
        if (!path.holdForDrain(reason, drainingSince)) return reason;
      }
    }
  }

  /** The plain probe, with the options object reused from probe to probe. */
  private plainProbe(tunnel: Tunnel, options: ProbeOptions, expectFirstByte: boolean): Promise<ProbeResult> {
    options.expectFirstByte = expectFirstByte;
    return probeTunnel(tunnel, options);
  }

  /** Sleep on the shared wheel until `ms` pass or `wake` is called (by a suspect, or the run's abort). */
  private sleep(wheel: TimerWheel, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = wheel.add(ms, () => {
        this.wake = undefined;
        resolve();
      });
      this.wake = () => {
        this.wake = undefined;
        wheel.cancel(entry);
        resolve();
      };
    });
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
