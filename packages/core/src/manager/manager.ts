import { z } from 'zod';
import { monotonicNow } from '../async/monotonic';
import { TimerWheel } from '../async/timer-wheel';
import { configErrorFrom } from '../config/format-issues';
import {
  type FailoverInput,
  type FailoverSettings,
  failoverSchema,
  type PathSpecInput,
  pathSchema,
  protocol,
  serviceName,
  target,
} from '../config/schema';
import { ConfigError, StateError } from '../errors';
import { EventBus, type SubscribeOptions, type Subscription } from '../events/event-bus';
import type { EventInput, PrimaryChangeReason, TunnelmuxEvent } from '../events/types';
import type { LatencyDamping } from '../failover/latency-choice';
import { type PrimaryCandidate, probeMayMovePrimary, selectPrimary } from '../failover/select-primary';
import { type FrontDoor, type FrontDoorOptions, openFrontDoor } from '../front-door/front-door';
import {
  createResumeCarrier,
  type LiveSession,
  type ResumeCarrier,
  type ResumeSettings,
} from '../front-door/resume-carrier';
import { createPrometheusRegistry, sessionStallHistogram } from '../metrics/prometheus';
import type { MetricsSnapshot, SessionMetrics } from '../metrics/types';
import { formatTarget } from '../net/tcp';
import { isProvider, validateOptions } from '../provider/define-provider';
import { createHelpers } from '../provider/helpers';
import { Redactor } from '../provider/redactor';
import type { Provider, Target } from '../provider/types';
import type { ClientSessionEvent } from '../session/client';
import { type DrainingPath, type DrainResult, Drains } from './drains';
import { PathRunner } from './path-runner';
import { metricsOf, type PathStatus } from './path-status';
import { managerRoutes } from './route-source';

/** What `createManager` accepts. */
export interface ManagerConfig {
  /** The service this manager runs (default 'default'): stamped on every event and Prometheus series. */
  service?: string;
  /** Where paths lead unless a path says otherwise: `host:port` or `{ host, port }`. */
  target?: string | Target;
  /** `ssh` probes wait for the `SSH-` banner and enable first-byte failover; `tcp` only connects. */
  protocol?: 'ssh' | 'tcp';
  failover?: FailoverInput;
  providers?: readonly Provider[];
  /** Environment for provider processes (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Events buffered per slow subscriber before the oldest are dropped (default 1024). */
  eventBufferSize?: number;
  /** How often a `metrics` event is emitted, in ms; 0 turns it off (default 5000). */
  metricsInterval?: number;
  /** Random source for jitter, for deterministic tests (default Math.random). */
  random?: () => number;
  /**
   * Resumable sessions (docs/sessions.md): each path leads to a `tunnelmux relay`; the front door wraps each
   * client in a session that survives its path, and probes prove `key` to the relay and ask about its target.
   */
  resume?: ResumeSettings;
}

const managerSchema = z
  .object({
    service: serviceName.default('default'),
    target: target.optional(),
    protocol: protocol.default('tcp'),
    failover: failoverSchema.default(failoverSchema.parse({})),
    providers: z.array(z.unknown()).default([]),
    env: z.record(z.string(), z.string().optional()).optional(),
    eventBufferSize: z.number().int().min(1).max(1_000_000).default(1024),
    metricsInterval: z.number().int().min(0).default(5000),
    random: z.function().optional(),
    resume: z
      .object({
        key: z.custom<Buffer>((value) => Buffer.isBuffer(value) && value.length === 32, {
          message: 'expected the 32-byte key from readSessionKeyFile()',
        }),
        windowMs: z.number().int().min(1000).optional(),
        heartbeatMs: z.number().int().min(10).optional(),
        deadAfterMs: z.number().int().min(30).optional(),
        bufferBytes: z
          .number()
          .int()
          .min(64 * 1024)
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The manager-wide view `status()` returns. */
export interface ManagerStatus {
  primary?: string;
  pinned?: string;
  autoFailover: boolean;
  /** True while at least one started path exists and none is healthy. */
  degraded: boolean;
  paths: PathStatus[];
  /** Live resumable sessions; present only when `resume` is configured. */
  sessions?: LiveSession[];
  /** Paths out of the rotation whose live connections are finishing; present only while there are some. */
  draining?: DrainingPath[];
}

/** What `replace` did: the new path is in the rotation; the old one drains in the background. */
export interface ReplaceResult {
  status: PathStatus;
  /** Settles when the old path is drained, stopped and gone. */
  drained: Promise<DrainResult>;
}

/** What a running manager can change without restarting its paths. */
export interface Reconfiguration {
  /** The whole failover block (fields left out take their defaults), as in ManagerConfig. */
  failover?: FailoverInput;
}

// How long a drain waits for live connections by default before it cuts them.
const DEFAULT_DRAIN_MS = 30_000;

/** The outcome of starting one path of `startMultiple`. */
export type StartResult =
  | { id: string; ok: true; status: PathStatus }
  | { id: string; ok: false; error: Error; status?: PathStatus };

/** The tunnelmux engine: paths, probes, failover, metrics and events. */
export class Manager implements AsyncDisposable {
  /** Typed events: `manager.events.subscribe('failover')`. */
  readonly events: Pick<EventBus, 'subscribe' | 'on'>;
  /** The service this manager runs ('default' unless named). */
  readonly service: string;
  private readonly bus: EventBus;
  private readonly providers = new Map<string, Provider>();
  private readonly paths = new Map<string, PathRunner>();
  // `paths` sorted by priority, dropped whenever `paths` changes (a runner's priority and order never do).
  private sorted: readonly PathRunner[] | undefined;
  private readonly settings: z.output<typeof managerSchema>;
  private readonly redactor = new Redactor();
  private readonly helpers;
  private readonly registry;
  private failover: FailoverSettings;
  private betterSince: Record<string, number> = {};
  private readonly candidates = new WeakMap<PathRunner, PrimaryCandidate>();
  private readonly drains = new Drains((event) => this.emit(event));
  private primaryId?: string;
  private pinnedId?: string;
  private autoFailover = true;
  private failovers = 0;
  private primaryChanges = 0;
  private refused = 0;
  private noHealthySince?: number;
  private noHealthyTotal = 0;
  private order = 0;
  private closing?: Promise<void>;
  private readonly doors = new Set<FrontDoor>();
  // What a shutdown still waits for, for stopping().
  private waitingFor: { doors: Set<FrontDoor>; paths: Set<PathRunner> } | undefined;
  private readonly speaksFirst = new Set<string>();
  // Every path's sleep between probes on one timer.
  private readonly wheel = new TimerWheel();
  private readonly metricsTimer?: NodeJS.Timeout;
  private readonly resume?: ResumeCarrier;
  private readonly sessionFigures: SessionMetrics = { live: 0, resumes: 0, replayedBytes: 0, lost: {} };

  constructor(config: ManagerConfig = {}) {
    const parsed = managerSchema.safeParse(config);
    if (!parsed.success) throw configErrorFrom(parsed.error, config, 'manager config ');
    this.settings = parsed.data;
    this.service = parsed.data.service;
    this.failover = parsed.data.failover;
    this.bus = new EventBus(this.settings.eventBufferSize, Date.now, this.service);
    this.events = { subscribe: this.bus.subscribe.bind(this.bus), on: this.bus.on.bind(this.bus) } as Pick<
      EventBus,
      'subscribe' | 'on'
    >;
    this.helpers = createHelpers((config.env ?? process.env) as NodeJS.ProcessEnv);
    this.registry = createPrometheusRegistry(() => [this.getMetrics()]);
    if (this.settings.resume) {
      const stalls = sessionStallHistogram(this.registry);
      this.resume = createResumeCarrier(this.settings.resume, {
        event: (event) => this.sessionEvent(event, stalls),
      });
    }
    for (const provider of config.providers ?? []) this.register(provider);
    if (this.settings.metricsInterval > 0) {
      this.metricsTimer = setInterval(() => {
        // A snapshot of every path is work: make it only for someone who will see it.
        if (this.bus.wants('metrics')) this.bus.emit({ type: 'metrics', snapshot: this.getMetrics() });
      }, this.settings.metricsInterval);
      this.metricsTimer.unref();
    }
  }

  /** Make a provider available to paths by its `name`. */
  register(provider: Provider): this {
    this.assertOpen();
    if (!isProvider(provider)) {
      throw ConfigError.invalid('provider', provider, 'an object made with defineProvider()', {
        hint: 'wrap the definition in defineProvider({ ... }) from @tunnelmux/core',
      });
    }
    if (this.providers.has(provider.name) && this.providers.get(provider.name) !== provider) {
      throw new ConfigError(`a provider named "${provider.name}" is already registered`, { field: 'name' });
    }
    this.providers.set(provider.name, provider);
    return this;
  }

  /** Registered provider names. */
  providerNames(): string[] {
    return [...this.providers.keys()];
  }

  /**
   * Add a path and start supervising it. Resolves after the first open attempt with the path's status
   * (`connected`, `reconnecting` while it retries, or `failed` for a fatal error); rejects for bad input.
   */
  async start(spec: PathSpecInput): Promise<PathStatus> {
    const runner = await this.prepare(spec, this.paths.size);
    await runner.start();
    return this.pathStatus(runner);
  }

  /** Add a path to the rotation: the same as `start`. */
  add(spec: PathSpecInput): Promise<PathStatus> {
    return this.start(spec);
  }

  /**
   * Take a path out of the rotation at once (if it was primary, the next is chosen at once), let its live
   * connections run until they end or `timeoutMs` passes (default 30s; then they are cut), then stop and remove
   * it. Resolves when it is gone.
   */
  drain(id: string, options: { timeoutMs?: number } = {}): Promise<DrainResult> {
    this.assertOpen();
    const runner = this.runner(id);
    const timeoutMs = drainTimeout(options.timeoutMs, 'timeoutMs');
    this.paths.delete(id);
    this.sorted = undefined;
    return this.drainRunner(runner, timeoutMs);
  }

  /**
   * Replace a running path by a changed one with the same id: start the new one first; once it is up (or if the
   * old one is down anyway), it takes the old one's place in the rotation and the old one drains (`drainMs`,
   * default 30s) with its live connections still running on it. If the new one cannot come up while the old one
   * is healthy, the new one is stopped, the old one is kept, and this rejects.
   */
  async replace(spec: PathSpecInput, options: { drainMs?: number } = {}): Promise<ReplaceResult> {
    this.assertOpen();
    const drainMs = drainTimeout(options.drainMs, 'drainMs');
    const id = typeof spec?.id === 'string' ? spec.id : undefined;
    const old = id === undefined ? undefined : this.paths.get(id);
    if (!old) {
      const known = [...this.paths.keys()];
      throw new StateError(
        `no path "${String(id)}" to replace; ${known.length > 0 ? `known paths: ${known.join(', ')}` : 'no path has been started'}; use add() for a new path`,
        { pathId: id },
      );
    }
    const runner = await this.prepare(spec, old.priority, { replacing: old });
    await runner.start();
    if (this.closing || this.paths.get(old.id) !== old) {
      await runner.stop('replaced while starting');
      throw new StateError(`path "${old.id}" was removed or replaced again while its replacement started`, {
        pathId: old.id,
      });
    }
    if (runner.state !== 'connected' && old.state === 'connected') {
      const why = runner.lastError ?? runner.state;
      await runner.stop('replacement did not come up');
      throw new StateError(
        `path "${old.id}": the replacement did not come up (${why}); the running path is kept unchanged`,
        { pathId: old.id },
      );
    }
    this.paths.set(old.id, runner);
    this.sorted = undefined;
    const drained = this.drainRunner(old, drainMs);
    return { status: this.pathStatus(runner), drained };
  }

  /**
   * Apply new failover settings (fall, rise, interval, timeouts, strategy, margins…) to the running paths
   * without restarting them: probes use them from their next round, restart delays from the next restart.
   * Returns the settings now in force.
   */
  reconfigure(changes: Reconfiguration): FailoverSettings {
    this.assertOpen();
    if (changes.failover !== undefined) {
      const parsed = failoverSchema.safeParse(changes.failover);
      if (!parsed.success) throw configErrorFrom(parsed.error, changes.failover, 'failover ');
      if (parsed.data.strategy !== this.failover.strategy) this.betterSince = {};
      this.failover = parsed.data;
      for (const runner of [...this.paths.values(), ...this.drains.runners()]) runner.reconfigured();
      this.reselect();
    }
    return this.failoverSettings;
  }

  /** The failover settings in force (a copy). */
  get failoverSettings(): FailoverSettings {
    return { ...this.failover };
  }

  /** Start several paths in parallel; priority follows list order unless given. Results keep the order. */
  async startMultiple(specs: readonly PathSpecInput[]): Promise<StartResult[]> {
    this.assertOpen();
    const base = this.paths.size;
    return Promise.all(
      specs.map(async (spec, index): Promise<StartResult> => {
        const id = typeof spec?.id === 'string' ? spec.id : `#${index}`;
        try {
          const runner = await this.prepare(spec, base + index);
          await runner.start();
          const status = this.pathStatus(runner);
          return status.state === 'connected'
            ? { id, ok: true, status }
            : {
                id,
                ok: false,
                status,
                error: new StateError(status.lastError ?? `path "${id}" is ${status.state}`),
              };
        } catch (error) {
          return { id, ok: false, error: error instanceof Error ? error : new Error(String(error)) };
        }
      }),
    );
  }

  /** Stop a path and close its tunnel; it stays listed as disconnected. */
  async stop(id: string): Promise<PathStatus> {
    const runner = this.runner(id);
    await runner.stop();
    return this.pathStatus(runner);
  }

  /** Close and reopen a path. */
  async restart(id: string): Promise<PathStatus> {
    this.assertOpen();
    const runner = this.runner(id);
    await runner.restart();
    return this.pathStatus(runner);
  }

  /** Stop every path (and any still draining). */
  async stopAll(): Promise<void> {
    // During a shutdown, each path is listed as awaited until it has stopped (stopping()).
    const waiting = this.waitingFor?.paths;
    const runners = [...this.paths.values(), ...this.drains.runners()];
    for (const runner of runners) waiting?.add(runner);
    await Promise.all(runners.map((runner) => runner.stop().finally(() => waiting?.delete(runner))));
  }

  /** Remove a stopped or failed path entirely. */
  async remove(id: string): Promise<void> {
    const runner = this.runner(id);
    await runner.stop('removed');
    this.paths.delete(id);
    this.sorted = undefined;
    this.reselect();
  }

  status(): ManagerStatus;
  status(id: string): PathStatus;
  status(id?: string): ManagerStatus | PathStatus {
    if (id !== undefined) return this.pathStatus(this.runner(id));
    return {
      primary: this.primaryId,
      pinned: this.pinnedId,
      autoFailover: this.autoFailover,
      degraded: this.noHealthySince !== undefined,
      paths: this.list(),
      ...(this.resume ? { sessions: this.resume.sessions() } : {}),
      ...(this.drains.runners().length > 0 ? { draining: this.drains.list() } : {}),
    };
  }

  /** Every path, best priority first. */
  list(): PathStatus[] {
    return this.sortedRunners().map((runner) => this.pathStatus(runner));
  }

  /** The events of one path (and primary changes that involve it) as an async iterable. */
  monitor(id: string, options?: SubscribeOptions): Subscription<TunnelmuxEvent> {
    this.runner(id);
    return this.bus.subscribe(
      '*',
      (event) =>
        ('pathId' in event && event.pathId === id) ||
        ((event.type === 'primary-change' || event.type === 'failover') &&
          (event.from === id || event.to === id)),
      options,
    );
  }

  /** Pin a connected path as primary until it goes down; `undefined` clears the pin. */
  setPrimary(id: string | undefined): void {
    this.assertOpen();
    if (id === undefined) {
      if (this.pinnedId === undefined) return;
      this.pinnedId = undefined;
      this.reselect('pin-cleared');
      return;
    }
    const runner = this.runner(id);
    if (runner.state !== 'connected') {
      throw new StateError(`path "${id}" is ${runner.state}; only a connected path can be made primary`, {
        pathId: id,
      });
    }
    this.pinnedId = id;
    this.reselect();
  }

  getPrimary(): string | undefined {
    return this.primaryId;
  }

  /** Turn automatic failover on (default) or off; off keeps the primary until `setPrimary`. */
  enableAutoFailover(enabled = true): void {
    this.autoFailover = enabled;
    this.reselect();
  }

  get autoFailoverEnabled(): boolean {
    return this.autoFailover;
  }

  getMetrics(): MetricsSnapshot {
    const now = monotonicNow();
    return {
      service: this.service,
      time: Date.now(),
      primary: this.primaryId,
      failovers: this.failovers,
      primaryChanges: this.primaryChanges,
      noHealthyPathMs:
        this.noHealthyTotal + (this.noHealthySince === undefined ? 0 : now - this.noHealthySince),
      refusedConnections: this.refused,
      eventsDropped: this.bus.dropped,
      paths: this.sortedRunners().map((runner) => metricsOf(this.pathStatus(runner))),
      ...(this.resume
        ? {
            sessions: {
              ...this.sessionFigures,
              lost: { ...this.sessionFigures.lost },
              live: this.resume.sessions().length,
            },
          }
        : {}),
    };
  }

  /** The metrics in Prometheus text exposition format. */
  prometheus(): Promise<string> {
    return this.registry.metrics();
  }

  get prometheusContentType(): string {
    return this.registry.contentType;
  }

  /**
   * Open a front door: a loopback port whose every connection goes through the primary, with connect-retry
   * and (for `ssh`) first-byte failover onto the next healthy path.
   */
  async listen(options: FrontDoorOptions = {}): Promise<FrontDoor> {
    this.assertOpen();
    const routes = managerRoutes({
      runners: () => this.sortedRunners(),
      draining: () => this.drains.runners(),
      primary: () => this.primaryId,
      refused: (reason, client) => {
        this.refused += 1;
        // One per refused client (every client, in an outage): built only for someone listening.
        if (this.bus.wants('connection-refused')) this.emit({ type: 'connection-refused', reason, client });
      },
      warn: (message) => this.emit({ type: 'warning', message }),
    });
    const door = await openFrontDoor(routes, {
      ...options,
      defaultProtocol: this.settings.protocol,
      defaultFirstByteTimeout: () => this.failover.firstByteTimeout,
      ...(this.resume ? { carrier: this.resume.carrier } : {}),
    });
    this.doors.add(door);
    const close = door.close.bind(door);
    return Object.assign(door, {
      close: async (closeOptions?: { drainTimeout?: number }) => {
        this.doors.delete(door);
        await close(closeOptions);
      },
    });
  }

  /**
   * Close every front door (their live connections may drain for `drainMs`, default each door's
   * `drainTimeout`), stop every path, end every subscription; the manager cannot be used afterwards. Idempotent.
   */
  shutdown(options: { drainMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      if (this.metricsTimer) clearInterval(this.metricsTimer);
      const drainMs = options.drainMs === undefined ? undefined : drainTimeout(options.drainMs, 'drainMs');
      const waiting = { doors: new Set(this.doors), paths: new Set<PathRunner>() };
      this.waitingFor = waiting;
      await Promise.all(
        [...waiting.doors].map((door) =>
          door
            .close(drainMs === undefined ? undefined : { drainTimeout: drainMs })
            .finally(() => waiting.doors.delete(door)),
        ),
      );
      await Promise.all([this.drains.end(), this.stopAll()]);
      this.bus.close();
    })();
    return this.closing;
  }

  /**
   * While `shutdown()` runs: what it still waits for, in words (a front door and its open connections, the
   * paths not yet stopped); undefined before a shutdown and once it is done.
   */
  stopping(): string | undefined {
    const waiting = this.waitingFor;
    if (!waiting || (waiting.doors.size === 0 && waiting.paths.size === 0)) return undefined;
    const doors = [...waiting.doors].map(
      (door) =>
        `front door ${formatTarget(door.address)} with ${door.connections().length} connection(s) open`,
    );
    const paths = [...waiting.paths].map((runner) => `${runner.id} (${runner.state})`);
    return [...doors, ...(paths.length > 0 ? [`path(s) ${paths.join(', ')} stopping`] : [])].join('; ');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** A resumable session's outcome as a manager event and figures; the rest stay inside the carrier. */
  private sessionEvent(
    event: ClientSessionEvent,
    stalls: { observe(labels: { service: string }, value: number): void },
  ): void {
    if (event.type === 'session-resumed') {
      this.sessionFigures.resumes += 1;
      this.sessionFigures.replayedBytes += event.replayedBytes;
      stalls.observe({ service: this.service }, event.stallMs / 1000);
      this.emit(event);
    } else if (event.type === 'session-lost') {
      this.sessionFigures.lost[event.reason] = (this.sessionFigures.lost[event.reason] ?? 0) + 1;
      this.emit(event);
    }
  }

  /** Emit an event on the manager's bus, with secrets redacted. */
  private emit(event: EventInput): void {
    this.bus.emit(this.redactor.value(event));
  }

  /** Out of the rotation now (a primary is replaced at once); then drained and stopped (drains.ts). */
  private drainRunner(runner: PathRunner, timeoutMs: number): Promise<DrainResult> {
    const drained = this.drains.start(runner, timeoutMs);
    this.reselect(runner.id === this.primaryId && !this.paths.has(runner.id) ? 'drained' : undefined);
    return drained;
  }

  private async prepare(
    input: PathSpecInput,
    order: number,
    how: { replacing?: PathRunner } = {},
  ): Promise<PathRunner> {
    this.assertOpen();
    const idHint = typeof input?.id === 'string' ? `path "${input.id}" ` : 'path ';
    const parsed = pathSchema.safeParse(input);
    if (!parsed.success) throw configErrorFrom(parsed.error, input, idHint);
    const spec = parsed.data;
    if (!how.replacing && this.paths.has(spec.id)) {
      throw new ConfigError(
        `path "${spec.id}" already exists; use restart("${spec.id}") or pick another id`,
        {
          field: 'id',
          value: spec.id,
          pathId: spec.id,
        },
      );
    }
    const provider = this.providers.get(spec.provider);
    if (!provider) {
      const known = this.providerNames();
      throw ConfigError.invalid(`path "${spec.id}": provider`, spec.provider, 'a registered provider', {
        pathId: spec.id,
        hint: known.length > 0 ? `registered: ${known.join(', ')}` : 'no provider is registered yet',
      });
    }
    if (!provider.modes.includes(spec.mode)) {
      throw ConfigError.invalid(`path "${spec.id}": mode`, spec.mode, `one of ${provider.modes.join(', ')}`, {
        provider: provider.name,
        pathId: spec.id,
      });
    }
    const pathTarget = spec.target ?? this.settings.target;
    if (!pathTarget) {
      throw new ConfigError(`path "${spec.id}" has no target: set target on the path or on the manager`, {
        field: 'target',
        pathId: spec.id,
      });
    }
    const options = await validateOptions(provider, spec.options, { pathId: spec.id, mode: spec.mode });
    // Another start with the same id may have won while options were validated.
    if (!how.replacing && this.paths.has(spec.id))
      throw new ConfigError(`path "${spec.id}" already exists`, { pathId: spec.id });
    this.assertOpen();
    const manager = this;
    const runner = new PathRunner(
      spec,
      provider,
      options,
      pathTarget,
      spec.protocol ?? this.settings.protocol,
      spec.priority ?? order,
      how.replacing?.order ?? this.order++,
      {
        bus: this.bus,
        redactor: this.redactor,
        helpers: this.helpers,
        get settings() {
          return manager.failover;
        },
        random: (this.settings.random as (() => number) | undefined) ?? Math.random,
        changed: () => this.reselect(),
        probedUp: (runner) => this.reselectAfterProbe(runner),
        speaksFirst: this.speaksFirst,
        relayKey: this.settings.resume?.key,
        wheel: this.wheel,
      },
    );
    if (!how.replacing) this.paths.set(spec.id, runner);
    this.sorted = undefined;
    return runner;
  }

  /**
   * What the selection reads of one path; its latency only when the strategy uses it. One object per path,
   * refreshed at each call: a selection reads every path, and a new object each time made starting 1,000 paths
   * leave about 100 MB of garbage that sometimes grew the heap for good.
   */
  private candidate(runner: PathRunner): PrimaryCandidate {
    let view = this.candidates.get(runner);
    if (!view) {
      view = { id: runner.id, priority: 0, order: 0, healthy: false, running: false, recovered: false };
      this.candidates.set(runner, view);
    }
    view.priority = runner.priority;
    view.order = runner.order;
    view.healthy = runner.state === 'connected';
    view.running = runner.running;
    view.upSince = runner.upSince;
    view.recovered = runner.recovered;
    view.flaps = runner.flaps;
    view.latencyMs = this.failover.strategy === 'latency' ? runner.recentLatency : undefined;
    return view;
  }

  private reselectAfterProbe(runner: PathRunner): void {
    const primary = this.primaryId === undefined ? undefined : this.paths.get(this.primaryId);
    const mayMove = probeMayMovePrimary({
      probed: this.candidate(runner),
      primary: primary && this.candidate(primary),
      pinHolds: this.pinnedId !== undefined && this.pinnedId === this.primaryId,
      strategy: this.failover.strategy,
      latency: this.latencyDamping(),
      betterSince: this.betterSince,
    });
    if (mayMove) this.reselect();
  }

  private latencyDamping(): LatencyDamping {
    return {
      marginMs: this.failover.latencyMargin,
      marginPercent: this.failover.latencyMarginPercent,
      dwellMs: this.failover.latencyDwell,
    };
  }

  private reselect(hint?: PrimaryChangeReason): void {
    const now = monotonicNow();
    const runners = [...this.paths.values()];
    const outcome = selectPrimary({
      candidates: runners.map((runner) => this.candidate(runner)),
      current: this.primaryId,
      pinned: this.pinnedId,
      autoFailover: this.autoFailover,
      autoRecover: this.failover.autoRecover,
      minDwellMs: this.failover.minDwell,
      now,
      strategy: this.failover.strategy,
      latency: this.latencyDamping(),
      betterSince: this.betterSince,
    });
    this.betterSince = outcome.betterSince;
    if (outcome.clearPin) this.pinnedId = undefined;
    // Sessions riding a path that left rotation move to another now, before their carrier is cut.
    this.resume?.leave(new Set(runners.filter((r) => r.state === 'connected').map((r) => r.id)));
    if (outcome.reason !== undefined && outcome.primary !== this.primaryId) {
      const from = this.primaryId;
      this.primaryId = outcome.primary;
      this.primaryChanges += 1;
      const reason = hint ?? outcome.reason;
      if (reason === 'failover' && from !== undefined) {
        this.failovers += 1;
        const old = this.paths.get(from);
        this.emit({
          type: 'failover',
          from,
          to: outcome.primary,
          reason: old?.lastError ?? `path "${from}" is ${old?.state ?? 'gone'}`,
        });
      }
      this.emit({ type: 'primary-change', from, to: outcome.primary, reason });
    }
    this.trackHealth(runners, now);
  }

  private trackHealth(runners: PathRunner[], now: number): void {
    const started = runners.filter((runner) => runner.running || runner.state === 'failed');
    const anyHealthy = runners.some((runner) => runner.state === 'connected');
    const stillOpening = runners.some((runner) => runner.state === 'connecting');
    if (!anyHealthy && started.length > 0 && !stillOpening) {
      if (this.noHealthySince === undefined) {
        this.noHealthySince = now;
        this.emit({ type: 'no-healthy-path', paths: started.length });
      }
    } else if (anyHealthy && this.noHealthySince !== undefined) {
      const downForMs = now - this.noHealthySince;
      this.noHealthyTotal += downForMs;
      this.noHealthySince = undefined;
      this.emit({ type: 'healthy-path-restored', pathId: this.primaryId ?? '', downForMs });
    } else if (started.length === 0 && this.noHealthySince !== undefined) {
      this.noHealthyTotal += now - this.noHealthySince;
      this.noHealthySince = undefined;
    }
  }

  /** Every path by priority; read per front-door client, so sorted once per change of the path set. */
  private sortedRunners(): readonly PathRunner[] {
    this.sorted ??= [...this.paths.values()].sort((a, b) => a.priority - b.priority || a.order - b.order);
    return this.sorted;
  }

  private pathStatus(runner: PathRunner): PathStatus {
    return this.redactor.value(
      runner.status({ primary: runner.id === this.primaryId, pinned: runner.id === this.pinnedId }),
    );
  }

  private runner(id: string): PathRunner {
    const runner = this.paths.get(id);
    if (!runner) {
      const known = [...this.paths.keys()];
      throw new StateError(
        `no path "${id}"; ${known.length > 0 ? `known paths: ${known.join(', ')}` : 'no path has been started'}`,
        { pathId: id },
      );
    }
    return runner;
  }

  private assertOpen(): void {
    if (this.closing) throw new StateError('the manager is shut down; create a new one with createManager()');
  }
}

/** A drain timeout option, checked: a whole number of ms a timer can wait. */
function drainTimeout(value: number | undefined, field: string): number {
  if (value === undefined) return DEFAULT_DRAIN_MS;
  if (!Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw ConfigError.invalid(field, value, 'a whole number of milliseconds from 0 to 2147483647', {
      hint: `for example { ${field}: 30000 } to let live connections finish for up to 30s`,
    });
  }
  return value;
}

/** Create a manager: `await using manager = createManager({ target: 'devbox:22', protocol: 'ssh' })`. */
export function createManager(config: ManagerConfig = {}): Manager {
  return new Manager(config);
}
