import type { FailoverSettings, PathSpec } from '../config/schema';
import { ConfigError, errorMessage, isFatal, TunnelmuxError } from '../errors';
import type { EventBus } from '../events/event-bus';
import { Backoff } from '../failover/backoff';
import { delay } from '../failover/delay';
import { type ProbeResult, probeTunnel } from '../failover/probe';
import { LatencyWindow } from '../metrics/latency-window';
import type { LatencyStats, PathMetrics } from '../metrics/types';
import { formatTarget } from '../net/tcp';
import { createOpenContext } from '../provider/open-context';
import type { Redactor } from '../provider/redactor';
import type { CheckResult, Provider, ProviderHelpers, Target, Tunnel, TunnelEnd } from '../provider/types';
import { assertTransition, type PathState } from '../state/transitions';

/** What a path runner needs from its manager. */
export interface RunnerHost {
  bus: EventBus;
  redactor: Redactor;
  helpers: ProviderHelpers;
  settings: FailoverSettings;
  random: () => number;
  /** Called after every state change and probe, so the manager can re-choose the primary. */
  changed(runner: PathRunner): void;
  /** tcp targets (`host:port`) seen to speak first; learned from probes, shared by the paths to them. */
  speaksFirst: Set<string>;
}

/** Everything `status` reports about one path. */
export interface PathStatus {
  id: string;
  provider: string;
  mode: 'access' | 'expose';
  state: PathState;
  priority: number;
  primary: boolean;
  pinned: boolean;
  target: string;
  protocol: 'ssh' | 'tcp';
  pid?: number;
  endpoint?: string;
  publicUrl?: string;
  /** The latest probe latency. */
  latencyMs?: number;
  latency: LatencyStats;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  bytesIn: number;
  bytesOut: number;
  activeConnections: number;
  totalConnections: number;
  failedDials: number;
  restarts: number;
  uptimeMs: number;
  /** Epoch ms of the last state change. */
  since: number;
  lastError?: string;
  lastExit?: TunnelEnd;
  /** Epoch ms of the next reopen attempt while reconnecting. */
  nextAttemptAt?: number;
  /** The provider's own health hint. */
  hint?: CheckResult;
}

type Deferred = { promise: Promise<void>; resolve: () => void };
/** One supervision run: its first outcome, and the signal that ends it. */
type RunHandle = { outcome: Promise<void>; signal: AbortSignal };
const deferred = (): Deferred => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

// How long an aborted open may take to clean up after itself before the stop goes on without it.
const OPEN_CLEANUP_MS = 5000;
// How often a provider's `check` hint runs at most.
const CHECK_EVERY_MS = 10_000;

/** Supervises one path: opens it, probes it end to end, restarts it with backoff, closes it. */
export class PathRunner {
  state: PathState = 'disconnected';
  since = Date.now();
  tunnel?: Tunnel;
  lastError?: string;
  lastExit?: TunnelEnd;
  hint?: CheckResult;
  /** It has come up at least once since it was started. */
  everConnected = false;
  /** It has gone down after coming up, so failback to it is damped. */
  recovered = false;
  upSince?: number;
  nextAttemptAt?: number;
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;
  restarts = 0;
  failedDials = 0;
  bytesIn = 0;
  bytesOut = 0;
  activeConnections = 0;
  totalConnections = 0;
  lastActive?: number;
  publicUrl?: string;
  readonly latency = new LatencyWindow(100);

  private readonly backoff: Backoff;
  private run?: { controller: AbortController; done: Promise<void> };
  private ops: Promise<unknown> = Promise.resolve();
  private wake?: () => void;
  private probing = false;
  private latestRun: RunHandle = { outcome: Promise.resolve(), signal: new AbortController().signal };
  private lastCheckAt = 0;
  private opens = 0;

  constructor(
    readonly spec: PathSpec,
    readonly provider: Provider,
    readonly options: unknown,
    readonly target: Target,
    readonly protocol: 'ssh' | 'tcp',
    readonly priority: number,
    readonly order: number,
    private readonly host: RunnerHost,
  ) {
    const s = host.settings;
    this.backoff = new Backoff(
      { initialMs: s.backoffInitial, maxMs: s.backoffMax, stableAfterMs: s.stableAfter },
      host.random,
    );
  }

  get id(): string {
    return this.spec.id;
  }

  /** Recent flaps of this path, from its backoff. */
  get flaps(): number {
    return this.backoff.flapCount;
  }

  get running(): boolean {
    return this.run !== undefined;
  }

  /** Start supervising; resolves after the first open attempt has an outcome (up, failing, or failed). */
  async start(): Promise<void> {
    // Wait for the outcome outside the lock, so a stop can abort a slow open.
    await this.settle(await this.serialize(() => this.begin()));
  }

  /** Stop supervising and close the tunnel; the path ends disconnected. */
  stop(reason = 'stopped'): Promise<void> {
    return this.serialize(() => this.end(reason));
  }

  /** Stop, then start again. */
  async restart(): Promise<void> {
    const started = await this.serialize(async () => {
      await this.end('restarting');
      return this.begin();
    });
    await this.settle(started);
  }

  /**
   * Wait for a run's first outcome; if a later stop or restart overtook it, wait for what that one left
   * instead, so callers never see a half state such as `connecting`.
   */
  private async settle(started: RunHandle): Promise<void> {
    let current = started;
    await current.outcome;
    // Bounded: each turn follows a newer run, and runs are only made by calls that are already queued.
    while (current.signal.aborted) {
      await this.ops;
      if (this.latestRun === current) return;
      current = this.latestRun;
      await current.outcome;
    }
  }

  /** A live connection through this path failed: count it, and probe at once. */
  suspect(reason: string, source: 'front-door' | 'provider'): void {
    this.failedDials += 1;
    this.emit({ type: 'dial-failed', reason, source });
    // A provider reporting the failure of a probe's own dial: the probe result already counts it.
    if (source === 'provider' && this.probing) return;
    if (this.state === 'connected') {
      this.consecutiveFailures += 1;
      this.consecutiveSuccesses = 0;
    }
    this.wake?.();
  }

  status(primary: boolean, pinned: boolean): PathStatus {
    return {
      id: this.id,
      provider: this.provider.name,
      mode: this.spec.mode,
      state: this.state,
      priority: this.priority,
      primary,
      pinned,
      target: formatTarget(this.target),
      protocol: this.protocol,
      pid: this.tunnel?.pid,
      endpoint: this.tunnel?.endpoint,
      publicUrl: this.publicUrl ?? this.tunnel?.publicUrl,
      latencyMs: this.latency.last,
      latency: this.latencyStats(),
      consecutiveFailures: this.consecutiveFailures,
      consecutiveSuccesses: this.consecutiveSuccesses,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      activeConnections: this.activeConnections,
      totalConnections: this.totalConnections,
      failedDials: this.failedDials,
      restarts: this.restarts,
      uptimeMs: this.upSince === undefined ? 0 : Date.now() - this.upSince,
      since: this.since,
      lastError: this.lastError,
      lastExit: this.lastExit,
      nextAttemptAt: this.state === 'reconnecting' ? this.nextAttemptAt : undefined,
      hint: this.hint,
    };
  }

  metrics(primary: boolean): PathMetrics {
    return {
      id: this.id,
      provider: this.provider.name,
      state: this.state,
      priority: this.priority,
      primary,
      latencyMs: this.latencyStats(),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      activeConnections: this.activeConnections,
      totalConnections: this.totalConnections,
      failedDials: this.failedDials,
      uptimeMs: this.upSince === undefined ? 0 : Date.now() - this.upSince,
      consecutiveFailures: this.consecutiveFailures,
      restarts: this.restarts,
      lastActive: this.lastActive,
    };
  }

  private latencyStats(): LatencyStats {
    const l = this.latency;
    return {
      last: l.last,
      p50: l.percentile(50),
      p95: l.percentile(95),
      p99: l.percentile(99),
      samples: l.count,
    };
  }

  // Operations on one path run one at a time, so racing stop/restart calls end in a defined state.
  private serialize<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.ops.then(operation, operation);
    this.ops = next.catch(() => undefined);
    return next;
  }

  /** Start the supervision loop; `outcome` settles at its first outcome (boxed: an async function would adopt it). */
  private async begin(): Promise<RunHandle> {
    if (this.run) return { outcome: Promise.resolve(), signal: this.run.controller.signal };
    const controller = new AbortController();
    const firstOutcome = deferred();
    this.everConnected = false;
    this.recovered = false;
    this.consecutiveFailures = 0;
    this.consecutiveSuccesses = 0;
    this.lastError = undefined;
    this.transition('connecting', 'started');
    const done = this.loop(controller.signal, firstOutcome.resolve).finally(firstOutcome.resolve);
    this.run = { controller, done };
    this.latestRun = { outcome: firstOutcome.promise, signal: controller.signal };
    return this.latestRun;
  }

  private async end(reason: string): Promise<void> {
    const run = this.run;
    if (!run) {
      if (this.state === 'failed') this.transition('disconnected', reason);
      return;
    }
    run.controller.abort(new TunnelmuxError(`path "${this.id}" ${reason}`, { pathId: this.id }));
    await run.done;
    this.run = undefined;
    if (this.state !== 'disconnected') this.transition('disconnected', reason);
    this.emit({ type: 'disconnected', reason });
  }

  private async loop(signal: AbortSignal, settled: () => void): Promise<void> {
    while (!signal.aborted) {
      let tunnel: Tunnel;
      try {
        tunnel = await this.open(signal);
      } catch (error) {
        if (signal.aborted) return;
        this.lastError = errorMessage(error);
        this.reportError(error);
        if (isFatal(error) && !this.everConnected) {
          // Config and auth problems on first open are reported once, not retried in a loop.
          this.transition('failed', this.lastError);
          this.run = undefined;
          settled();
          return;
        }
        this.goDown(this.lastError);
        settled();
        if ((await this.waitToRetry(signal)) === 'aborted') return;
        continue;
      }
      this.tunnel = tunnel;
      this.lastExit = undefined;
      let reason: string | undefined;
      try {
        reason = await this.supervise(tunnel, signal, settled);
      } catch (error) {
        reason = `supervision failed: ${errorMessage(error)}`;
      }
      this.tunnel = undefined;
      // Down first, teardown second: a frozen tunnel's kill grace must not delay the failover.
      const down = signal.aborted || reason === undefined ? undefined : this.markDown(reason);
      await closeQuietly(tunnel);
      if (down === undefined) return;
      settled();
      if (down === 'failed') return;
      if ((await this.waitToRetry(signal)) === 'aborted') return;
    }
  }

  /** Open the tunnel with a deadline; a late tunnel from an abandoned open is closed, never leaked. */
  private async open(signal: AbortSignal): Promise<Tunnel> {
    const { openTimeout } = this.host.settings;
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new TunnelmuxError(
            `path "${this.id}" did not open within ${openTimeout} ms (failover.openTimeout)`,
            {
              provider: this.provider.name,
              pathId: this.id,
            },
          ),
        ),
      openTimeout,
    );
    const onAbort = () => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const ctx = createOpenContext({
      pathId: this.id,
      mode: this.spec.mode,
      target: this.target,
      signal: controller.signal,
      helpers: this.host.helpers,
      redactor: this.host.redactor,
      onLog: (level, message, fields) => this.emit({ type: 'log', level, message, fields }),
      onDialFailure: (reason) => this.suspect(reason, 'provider'),
      onPublicUrl: (url) => {
        this.publicUrl = url;
        this.emit({ type: 'public-url', publicUrl: url });
      },
    });
    let abandoned = false;
    const opening = Promise.resolve().then(() => this.provider.open(this.options, ctx));
    opening.then(
      (tunnel) => {
        if (abandoned) void closeQuietly(tunnel);
      },
      () => undefined,
    );
    try {
      const tunnel = await Promise.race([
        opening,
        new Promise<never>((_, reject) => {
          const fail = () => reject(controller.signal.reason);
          if (controller.signal.aborted) fail();
          else controller.signal.addEventListener('abort', fail, { once: true });
        }),
      ]);
      if (this.opens > 0) this.restarts += 1;
      this.opens += 1;
      return tunnel;
    } catch (error) {
      abandoned = true;
      if (controller.signal.aborted) {
        // The provider saw the abort too: give its own cleanup a bounded moment, so no process outlives a stop.
        const late = await Promise.race([opening.catch(() => undefined), delay(OPEN_CLEANUP_MS)]);
        if (late && typeof late === 'object') await closeQuietly(late);
      }
      throw error instanceof TunnelmuxError
        ? error
        : new TunnelmuxError(`path "${this.id}" failed to open: ${errorMessage(error)}`, {
            provider: this.provider.name,
            pathId: this.id,
            cause: error,
          });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Probe until the path goes down; returns why, or undefined when stopped. */
  private async supervise(
    tunnel: Tunnel,
    signal: AbortSignal,
    settled: () => void,
  ): Promise<string | undefined> {
    const s = this.host.settings;
    const needed = this.everConnected ? s.rise : 1;
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
    this.consecutiveFailures = 0;
    this.consecutiveSuccesses = 0;
    const exitReason = (end: TunnelEnd) => {
      this.lastExit = end;
      const lines = end.lastLines ?? [];
      const tail = lines.length > 0 ? `; last output: ${lines.slice(-3).join(' | ')}` : '';
      return `${end.reason}${tail}`;
    };
    const fastInterval = s.fastInterval ?? Math.max(50, Math.round(s.interval / 4));
    // Set while the path is down by its probes but still carries live connections.
    let drainingSince: number | undefined;
    for (;;) {
      if (signal.aborted) return undefined;
      if (exit) return exitReason(exit);
      this.probing = true;
      const result =
        tunnel.health === 'check' && tunnel.check
          ? await checkAsProbe(tunnel, s.timeout, signal)
          : await probeTunnel(tunnel, {
              protocol: this.protocol,
              expectFirstByte: this.host.speaksFirst.has(formatTarget(this.target)),
              timeoutMs: s.timeout,
              maxLatencyMs: s.maxLatency,
              signal,
            });
      this.probing = false;
      if (result.ok && result.spoke) this.host.speaksFirst.add(formatTarget(this.target));
      if (signal.aborted) return undefined;
      // A crash is down at that instant, whatever the probe said.
      if (exit) return exitReason(exit);
      if (result.latencyMs !== undefined) this.latency.add(result.latencyMs);
      if (result.ok) {
        this.consecutiveSuccesses += 1;
        this.consecutiveFailures = 0;
        this.lastActive = Date.now();
      } else {
        this.consecutiveFailures += 1;
        this.consecutiveSuccesses = 0;
        this.lastError = result.error;
      }
      this.emit({
        type: 'probe',
        ok: result.ok,
        latencyMs: result.latencyMs,
        error: result.error,
        consecutiveFailures: this.consecutiveFailures,
      });
      if (this.state !== 'connected' && this.consecutiveSuccesses >= needed) {
        drainingSince = undefined;
        this.comeUp(tunnel);
        settled();
      } else if (this.consecutiveFailures >= s.fall) {
        const reason = `${this.consecutiveFailures} failures in a row: ${result.error ?? 'unknown error'}`;
        drainingSince ??= Date.now();
        if (!this.holdForDrain(reason, drainingSince)) return reason;
        settled();
      }
      // Selection depends on states (their transitions call changed()) and on dwell time, which only matters
      // for a recovered path waiting to take the primary back: only its probes need to re-run the selection.
      if (this.recovered && this.state === 'connected') this.host.changed(this);
      void this.runCheck(tunnel, signal);
      const steady = this.state === 'connected' && this.consecutiveFailures === 0;
      const base = steady ? s.interval : fastInterval;
      const wait = base * (1 - s.jitter + 2 * s.jitter * this.host.random());
      await delay(wait, signal, (wake) => {
        this.wake = wake;
      });
      this.wake = undefined;
      // Passive failures may have pushed the path over the edge while it slept.
      if (this.consecutiveFailures >= s.fall) {
        const reason = `${this.consecutiveFailures} failures in a row, including failed dials of live traffic`;
        drainingSince ??= Date.now();
        if (!this.holdForDrain(reason, drainingSince)) return reason;
      }
    }
  }

  /**
   * A path its probes call down is out of rotation at once, but while it still carries live connections its
   * restart waits (up to `drainBeforeRestart`), so a false alarm under load does not cut working sessions.
   * Returns true while the restart should wait.
   */
  private holdForDrain(reason: string, since: number): boolean {
    const wait =
      this.activeConnections > 0 &&
      Date.now() - since < this.host.settings.drainBeforeRestart &&
      this.everConnected;
    if (wait && this.state === 'connected') {
      this.lastError = reason;
      this.upSince = undefined;
      this.recovered = true;
      this.transition(
        'reconnecting',
        `${reason}; restart waits for ${this.activeConnections} live connection(s)`,
      );
    }
    return wait;
  }

  /** The tunnel is gone or judged dead: record why and leave the rotation (or fail, if retrying cannot help). */
  private markDown(reason: string): 'failed' | 'reconnecting' {
    this.lastError = reason;
    // (supervise() set lastExit when the process ended; TypeScript cannot see that.)
    if ((this.lastExit as TunnelEnd | undefined)?.fatal) {
      // The tool said retrying cannot help: report once and stop, as for a fatal first open.
      this.reportError(
        new TunnelmuxError(reason, { provider: this.provider.name, pathId: this.id, fatal: true }),
      );
      this.upSince = undefined;
      this.transition('failed', reason);
      this.run = undefined;
      return 'failed';
    }
    this.goDown(reason);
    return 'reconnecting';
  }

  private comeUp(tunnel: Tunnel): void {
    if (this.everConnected) this.recovered = true;
    this.everConnected = true;
    this.upSince = Date.now();
    this.backoff.up();
    this.lastError = undefined;
    this.transition('connected', 'probe passed');
    this.emit({ type: 'connected', endpoint: tunnel.endpoint, publicUrl: tunnel.publicUrl, pid: tunnel.pid });
  }

  private goDown(reason: string): void {
    this.upSince = undefined;
    this.backoff.down();
    if (this.state !== 'reconnecting') this.transition('reconnecting', reason);
  }

  private async waitToRetry(signal: AbortSignal): Promise<'timeout' | 'woken' | 'aborted'> {
    const delayMs = this.backoff.next();
    this.nextAttemptAt = Date.now() + delayMs;
    this.emit({
      type: 'reconnecting',
      attempt: this.backoff.attempt,
      delayMs,
      reason: this.lastError ?? 'down',
    });
    const how = await delay(delayMs, signal);
    this.nextAttemptAt = undefined;
    return how;
  }

  private async runCheck(tunnel: Tunnel, signal: AbortSignal): Promise<void> {
    if (!tunnel.check || Date.now() - this.lastCheckAt < CHECK_EVERY_MS) return;
    this.lastCheckAt = Date.now();
    try {
      this.hint = await tunnel.check(
        AbortSignal.any([signal, AbortSignal.timeout(this.host.settings.timeout * 5)]),
      );
    } catch (error) {
      this.hint = { ok: false, detail: errorMessage(error) };
    }
  }

  private transition(to: PathState, reason: string): void {
    const from = this.state;
    assertTransition(from, to, this.id);
    this.state = to;
    this.since = Date.now();
    if (to !== 'connected') this.consecutiveSuccesses = 0;
    this.emit({ type: 'state-change', from, to, reason });
    this.host.changed(this);
  }

  private reportError(error: unknown): void {
    const fatal = isFatal(error) || error instanceof ConfigError;
    this.host.bus.emit(
      this.host.redactor.value({
        type: 'error',
        pathId: this.id,
        provider: this.provider.name,
        message: errorMessage(error),
        fatal,
        code: error instanceof TunnelmuxError ? error.code : 'ERR_PROVIDER',
      }),
    );
  }

  private emit(event: DistributiveOmit<PathEventInput, 'pathId' | 'provider'>): void {
    this.host.bus.emit(
      this.host.redactor.value({ ...event, pathId: this.id, provider: this.provider.name } as PathEventInput),
    );
  }
}

type PathEventInput = Extract<import('../events/types').EventInput, { pathId: string; provider: string }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A provider's own readiness as the probe, for paths that cannot be dialled from here. */
async function checkAsProbe(tunnel: Tunnel, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const hint = await tunnel.check!(AbortSignal.any([signal, AbortSignal.timeout(timeoutMs * 5)]));
    return {
      ok: hint.ok,
      latencyMs: hint.latencyMs ?? performance.now() - started,
      error: hint.ok ? undefined : hint.detail,
    };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

async function closeQuietly(tunnel: Tunnel): Promise<void> {
  try {
    await tunnel.close();
  } catch {
    // The tunnel is going away either way; its close error has nowhere useful to go.
  }
}
