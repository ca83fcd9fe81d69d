import { deferred } from '../async/deferred';
import { monotonicNow } from '../async/monotonic';
import { sleep } from '../async/sleep';
import type { TimerWheel } from '../async/timer-wheel';
import type { FailoverSettings, PathSpec } from '../config/schema';
import { ConfigError, errorMessage, isFatal, TunnelmuxError } from '../errors';
import type { EventBus } from '../events/event-bus';
import type { EventInput } from '../events/types';
import { Backoff } from '../failover/backoff';
import type { ProbeResult } from '../failover/probe';
import { PathCounters } from '../metrics/path-counters';
import { createOpenContext } from '../provider/open-context';
import type { Redactor } from '../provider/redactor';
import type { CheckResult, Provider, ProviderHelpers, Target, Tunnel, TunnelEnd } from '../provider/types';
import { assertTransition, type PathState } from '../state/transitions';
import { LogLimiter } from './log-limiter';
import { closeQuietly, openTunnel, TUNNEL_CLOSE_MS } from './open-tunnel';
import { type PathStatus, projectPath } from './path-status';
import { SerialQueue } from './serial-queue';
import { type SupervisedPath, Supervisor } from './supervisor';

/** What a path runner needs from its manager. */
export interface RunnerHost {
  bus: EventBus;
  redactor: Redactor;
  helpers: ProviderHelpers;
  settings: FailoverSettings;
  random: () => number;
  /** Called after every state change, so the manager can re-choose the primary. */
  changed(runner: PathRunner): void;
  /** Called after a probe of a healthy path that may move the primary (dwell, latency). */
  probedUp(runner: PathRunner): void;
  /** tcp targets (`host:port`) seen to speak first; learned from probes, shared by the paths to them. */
  speaksFirst: Set<string>;
  /** With resume on: probes prove this key to the relay. */
  relayKey?: Buffer;
  /** One timer for every path's sleep between probes. */
  wheel: TimerWheel;
}

/** One supervision run: its first outcome, and the signal that ends it. */
type RunHandle = { outcome: Promise<void>; signal: AbortSignal };

/**
 * One path's lifecycle: start, stop and restart one at a time; open with a deadline (open-tunnel.ts); hand the
 * open tunnel to its supervisor (supervisor.ts); restart with backoff; every state change checked and emitted.
 */
export class PathRunner {
  state: PathState = 'disconnected';
  since = Date.now();
  tunnel?: Tunnel;
  lastError?: string;
  lastExit?: TunnelEnd;
  /** It has come up at least once since it was started. */
  everConnected = false;
  /** It has gone down after coming up, so failback to it is damped. */
  recovered = false;
  upSince?: number;
  private readonly logLimiter = new LogLimiter();
  nextAttemptAt?: number;
  publicUrl?: string;
  readonly counters = new PathCounters();

  private readonly backoff: Backoff;
  private readonly supervisor = new Supervisor();
  private readonly queue = new SerialQueue();
  private run?: { controller: AbortController; done: Promise<void> };
  private latestRun: RunHandle = { outcome: Promise.resolve(), signal: new AbortController().signal };
  private opens = 0;
  private lastWarning?: string;

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

  /**
   * Recent probe latency for the latency strategy: the median of the last 5 probes. A median, not an EWMA: one
   * slow probe (a GC pause, a retransmit) does not move it at all, yet a real change shows within 3 probes; the
   * strategy's dwell then does the smoothing over time.
   */
  get recentLatency(): number | undefined {
    return this.counters.latency.recentMedian(5);
  }

  /** Failover settings changed: restart delays follow at once; probes read the settings each round. */
  reconfigured(): void {
    const s = this.host.settings;
    this.backoff.configure({
      initialMs: s.backoffInitial,
      maxMs: s.backoffMax,
      stableAfterMs: s.stableAfter,
    });
  }

  /** Recent flaps of this path, from its backoff. */
  get flaps(): number {
    return this.backoff.flapCount;
  }

  get running(): boolean {
    return this.run !== undefined;
  }

  get consecutiveFailures(): number {
    return this.supervisor.consecutiveFailures;
  }

  get consecutiveSuccesses(): number {
    return this.supervisor.consecutiveSuccesses;
  }

  get hint(): CheckResult | undefined {
    return this.supervisor.hint;
  }

  /** Start supervising; resolves after the first open attempt has an outcome (up, failing, or failed). */
  async start(): Promise<void> {
    // Wait for the outcome outside the queue, so a stop can abort a slow open.
    await this.settle(await this.queue.run(() => this.begin()));
  }

  /** Stop supervising and close the tunnel; the path ends disconnected. */
  stop(reason = 'stopped'): Promise<void> {
    return this.queue.run(() => this.end(reason));
  }

  /** Stop, then start again. */
  async restart(): Promise<void> {
    const started = await this.queue.run(async () => {
      await this.end('restarting');
      return this.begin();
    });
    await this.settle(started);
  }

  /** A live connection through this path failed: count it, emit it, and probe at once. */
  suspect(reason: string, source: 'front-door' | 'provider'): void {
    this.counters.failedDials += 1;
    // One per failed client dial, so a burst of them in an outage costs nothing when nobody listens.
    if (this.host.bus.wants('dial-failed')) this.emit({ type: 'dial-failed', reason, source });
    this.supervisor.suspect(source, this.state === 'connected');
  }

  /** The path's status: the one projection of its state and figures. */
  status(role: { primary: boolean; pinned: boolean }): PathStatus {
    return projectPath(this, role);
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
      await this.queue.idle();
      if (this.latestRun === current) return;
      current = this.latestRun;
      await current.outcome;
    }
  }

  /** Start the supervision loop; `outcome` settles at its first outcome (boxed: an async function would adopt it). */
  private async begin(): Promise<RunHandle> {
    if (this.run) return { outcome: Promise.resolve(), signal: this.run.controller.signal };
    const controller = new AbortController();
    const firstOutcome = deferred();
    this.everConnected = false;
    this.recovered = false;
    this.supervisor.reset();
    this.lastError = undefined;
    this.transition('connecting', 'started');
    const done = this.loop(controller.signal, () => firstOutcome.resolve()).finally(() =>
      firstOutcome.resolve(),
    );
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
        reason = await this.supervisor.run(this.supervised(settled), tunnel, signal);
      } catch (error) {
        reason = `supervision failed: ${errorMessage(error)}`;
      }
      this.tunnel = undefined;
      // Down first, teardown second: a frozen tunnel's kill grace must not delay the failover.
      const down = signal.aborted || reason === undefined ? undefined : this.markDown(reason);
      if (!(await closeQuietly(tunnel))) this.closeGivenUp(tunnel);
      if (down === undefined) return;
      settled();
      if (down === 'failed') return;
      if ((await this.waitToRetry(signal)) === 'aborted') return;
    }
  }

  private async open(signal: AbortSignal): Promise<Tunnel> {
    const tunnel = await openTunnel({
      provider: this.provider,
      providerOptions: this.options,
      pathId: this.id,
      openTimeout: this.host.settings.openTimeout,
      signal,
      context: (openSignal) =>
        createOpenContext({
          pathId: this.id,
          mode: this.spec.mode,
          target: this.target,
          signal: openSignal,
          helpers: this.host.helpers,
          redactor: this.host.redactor,
          onLog: (level, message, fields) => {
            if (!this.logLimiter.take((count) => this.droppedLogLines(count))) return;
            this.emit({ type: 'log', level, message, fields });
          },
          onDialFailure: (reason) => this.suspect(reason, 'provider'),
          onPublicUrl: (url) => {
            this.publicUrl = url;
            this.emit({ type: 'public-url', publicUrl: url });
          },
        }),
    });
    if (this.opens > 0) this.counters.restarts += 1;
    this.opens += 1;
    return tunnel;
  }

  /** This path as its supervisor sees it, for one run. */
  private supervised(settled: () => void): SupervisedPath {
    const runner = this;
    const host = this.host;
    return {
      id: this.id,
      target: this.target,
      protocol: this.protocol,
      get settings() {
        return host.settings;
      },
      random: host.random,
      speaksFirst: host.speaksFirst,
      relayKey: host.relayKey,
      wheel: host.wheel,
      get connected() {
        return runner.state === 'connected';
      },
      get everConnected() {
        return runner.everConnected;
      },
      get recovered() {
        return runner.recovered;
      },
      exited: (info) => {
        this.lastExit = info;
      },
      probed: (result, consecutiveFailures) => this.probed(result, consecutiveFailures),
      comeUp: (tunnel) => this.comeUp(tunnel),
      holdForDrain: (reason, since) => this.holdForDrain(reason, since),
      changed: () => host.probedUp(this),
      settled,
    };
  }

  /** The provider's close() hung: say so, once per tunnel; the path went on without it. */
  private closeGivenUp(tunnel: Tunnel): void {
    const pid = tunnel.pid === undefined ? '' : `; its process (pid ${tunnel.pid}) was killed`;
    const message = `path "${this.id}": the ${this.provider.name} tunnel did not close within ${TUNNEL_CLOSE_MS / 1000} s, so the path went on without it${pid}. This is a bug in the provider: report it to its author`;
    this.host.bus.emit(this.host.redactor.value({ type: 'warning', message }));
  }

  private probed(result: ProbeResult & { warning?: string }, consecutiveFailures: number): void {
    if (result.latencyMs !== undefined) this.counters.latency.add(result.latencyMs);
    // Said once until it changes: a wrong key would otherwise repeat with every probe.
    if (result.warning !== this.lastWarning) {
      this.lastWarning = result.warning;
      if (result.warning) {
        const message = `path "${this.id}": ${result.warning}`;
        this.host.bus.emit(this.host.redactor.value({ type: 'warning', message }));
      }
    }
    if (result.ok) this.counters.lastActive = Date.now();
    else this.lastError = result.error;
    // Two probes a second per path add up: build the event only for someone who will see it.
    if (!this.host.bus.wants('probe')) return;
    this.emit({
      type: 'probe',
      ok: result.ok,
      latencyMs: result.latencyMs,
      error: result.error,
      consecutiveFailures,
    });
  }

  /**
   * A path its probes call down is out of rotation at once, but while it still carries live connections its
   * restart waits (up to `drainBeforeRestart`), so a false alarm under load does not cut working sessions.
   * Returns true while the restart should wait.
   */
  /** Lines a flooding tool printed faster than the limit: said once, as a count, when lines pass again. */
  private droppedLogLines(count: number): void {
    this.emit({
      type: 'log',
      level: 'warn',
      message: `[tunnelmux] ${count} line(s) of the tool's output were not shown: it printed more than 200 lines/s`,
    });
  }

  private holdForDrain(reason: string, since: number): boolean {
    const active = this.counters.activeConnections;
    const wait =
      active > 0 && monotonicNow() - since < this.host.settings.drainBeforeRestart && this.everConnected;
    if (wait && this.state === 'connected') {
      this.lastError = reason;
      this.upSince = undefined;
      this.recovered = true;
      this.transition('reconnecting', `${reason}; restart waits for ${active} live connection(s)`);
    }
    return wait;
  }

  /** The tunnel is gone or judged dead: record why and leave the rotation (or fail, if retrying cannot help). */
  private markDown(reason: string): 'failed' | 'reconnecting' {
    this.lastError = reason;
    // (The supervisor set lastExit when the process ended; TypeScript cannot see that.)
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
    this.upSince = monotonicNow();
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
    const how = await sleep(delayMs, signal);
    this.nextAttemptAt = undefined;
    return how;
  }

  private transition(to: PathState, reason: string): void {
    const from = this.state;
    assertTransition(from, to, this.id);
    this.state = to;
    this.since = Date.now();
    if (to !== 'connected') this.supervisor.consecutiveSuccesses = 0;
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

type PathEventInput = Extract<EventInput, { pathId: string; provider: string }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
