import type { TunnelmuxEvent } from '@tunnelmux/core';
import { sleep } from '@tunnelmux/core/async';
import type { EventOf } from '@tunnelmux/core/events';
import { runCommand } from './command';
import { webhookSecrets } from './redact';
import { describeHook, type HookConfig, type OnConfig } from './schema';
import { postWebhook } from './webhook';

/** What a failing hook reports, as a `hook-failed` event without time and seq. */
export type HookFailure = Omit<EventOf<'hook-failed'>, 'time' | 'seq'>;

export interface DispatcherOptions {
  /** Where relative command paths are found and commands run: the config's folder. */
  cwd: string;
  /** This instance's name, as TUNNELMUX_INSTANCE. */
  instance: string;
  /** Called once per burst of failures of one hook; never called for a call that a hook-failed event caused. */
  report: (failure: HookFailure) => void;
  /** Defaults for hooks that do not set their own. */
  defaults?: Partial<HookDefaults>;
  now?: () => number;
}

export interface HookDefaults {
  timeoutMs: number;
  rateLimitMs: number;
  retries: number;
  /** Base of the webhook backoff. */
  backoffMs: number;
  /** Between SIGTERM and SIGKILL of a command's process group. */
  killGraceMs: number;
}

export const HOOK_DEFAULTS: HookDefaults = {
  timeoutMs: 10_000,
  rateLimitMs: 30_000,
  retries: 3,
  backoffMs: 1000,
  killGraceMs: 1000,
};

// Too frequent to notify about one by one; a hook gets them only when its key names them.
const HIGH_VOLUME = new Set(['probe', 'metrics', 'log']);

/** Events coalesced into one call: the latest, how many, and when the first happened. */
interface Batch {
  event: TunnelmuxEvent;
  count: number;
  firstTime: number;
}

/** The JSON a hook receives: the latest event, plus how many events the call stands for. */
export type HookPayload = TunnelmuxEvent & { count: number; firstTime: number };

/** The path an event is about, for TUNNELMUX_PATH: its path, the path a failover left, the new primary. */
export function pathOf(event: TunnelmuxEvent): string | undefined {
  if ('pathId' in event && typeof event.pathId === 'string') return event.pathId;
  if (event.type === 'failover') return event.from;
  if (event.type === 'primary-change') return event.to;
  return undefined;
}

/**
 * Turns events into hook calls. `handle` only records and schedules, so it never blocks or throws into the
 * engine; each hook runs at most one call at a time, at most once per rate limit, and holds at most one batch.
 */
export class HookDispatcher {
  private readonly runners: { key: string; runner: HookRunner }[] = [];
  private readonly stop = new AbortController();
  private closing = false;

  constructor(on: OnConfig, options: DispatcherOptions) {
    const defaults = { ...HOOK_DEFAULTS, ...options.defaults };
    const now = options.now ?? Date.now;
    for (const [key, hooks] of Object.entries(on)) {
      for (const hook of hooks ?? []) {
        this.runners.push({
          key,
          runner: new HookRunner(hook, defaults, options, now, this.stop.signal),
        });
      }
    }
  }

  /** Calls finished so far, delivered or failed (each counts once, retries included). */
  get calls(): number {
    return this.runners.reduce((sum, { runner }) => sum + runner.completed, 0);
  }

  /** Events recorded and waiting for their hook's next call (rate limit, or a call still running). */
  get waiting(): number {
    return this.runners.reduce((sum, { runner }) => sum + runner.waiting, 0);
  }

  /** How many hooks are configured. */
  get size(): number {
    return this.runners.length;
  }

  /** Offer one event to every hook that listens for it. Never throws. */
  handle(event: TunnelmuxEvent): void {
    if (this.closing) return;
    for (const { key, runner } of this.runners) {
      if (key === event.type || (key === '*' && !HIGH_VOLUME.has(event.type))) {
        try {
          runner.offer(event);
        } catch {
          // A hook's bookkeeping can never take the engine down.
        }
      }
    }
  }

  /**
   * Stop: calls already running get up to `graceMs` to finish (a notification of the shutdown itself), then
   * commands are killed and requests aborted; batches still waiting for their rate limit are dropped.
   */
  async close(graceMs = 2000): Promise<void> {
    const idle = () => Promise.allSettled(this.runners.map(({ runner }) => runner.idle()));
    this.closing = true;
    await sleep(graceMs, undefined, (wake) => void idle().then(wake));
    this.stop.abort();
    await idle();
  }
}

class HookRunner {
  private pending?: Batch;
  private running?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private lastStart = Number.NEGATIVE_INFINITY;
  /** True from a failure until the next success: a burst is reported once. */
  private failing = false;
  completed = 0;
  private readonly name: string;
  private readonly timeoutMs: number;
  private readonly rateLimitMs: number;

  constructor(
    private readonly hook: HookConfig,
    private readonly defaults: HookDefaults,
    private readonly options: DispatcherOptions,
    private readonly now: () => number,
    private readonly signal: AbortSignal,
  ) {
    this.name = describeHook(hook);
    this.timeoutMs = hook.timeout ?? defaults.timeoutMs;
    this.rateLimitMs = hook.rateLimit ?? defaults.rateLimitMs;
    signal.addEventListener('abort', () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.pending = undefined;
    });
  }

  offer(event: TunnelmuxEvent): void {
    if (this.pending) {
      this.pending.event = event;
      this.pending.count += 1;
    } else {
      this.pending = { event, count: 1, firstTime: event.time };
    }
    this.schedule();
  }

  /** Events recorded and not yet in a call. */
  get waiting(): number {
    return this.pending?.count ?? 0;
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private schedule(): void {
    if (this.running || this.timer || !this.pending || this.signal.aborted) return;
    // Never start a call inside the emit that brought the event: spawning or connecting waits for the next turn
    // of the event loop (and events of the same turn join the batch), or for the rate limit.
    const wait = Math.max(0, this.lastStart + this.rateLimitMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, wait);
    // A hook waiting for its turn never keeps a stopping process alive.
    this.timer.unref();
  }

  private start(): void {
    const batch = this.pending;
    if (this.running || !batch || this.signal.aborted) return;
    this.pending = undefined;
    this.lastStart = this.now();
    this.running = this.call(batch)
      .then(
        (reason) => this.settle(batch, reason),
        (error: unknown) => this.settle(batch, `failed unexpectedly: ${String(error)}`),
      )
      .catch(() => undefined)
      .finally(() => {
        this.completed += 1;
        this.running = undefined;
        this.schedule();
      });
  }

  private settle(batch: Batch, reason: string | undefined): void {
    if (reason === undefined) {
      this.failing = false;
      return;
    }
    const first = !this.failing;
    this.failing = true;
    // A hook that fails on hook-failed events must not feed itself.
    if (!first || batch.event.type === 'hook-failed' || this.signal.aborted) return;
    this.options.report({
      type: 'hook-failed',
      hook: this.name,
      on: batch.event.type,
      ...(pathOf(batch.event) === undefined ? {} : { pathId: pathOf(batch.event) }),
      reason,
      count: batch.count,
    });
  }

  private call(batch: Batch): Promise<string | undefined> {
    const payload: HookPayload = { ...batch.event, count: batch.count, firstTime: batch.firstTime };
    const body = JSON.stringify(payload);
    const hook = this.hook;
    if ('command' in hook) {
      const event = batch.event as TunnelmuxEvent & { service?: string };
      return runCommand({
        argv: hook.command,
        input: body,
        env: {
          TUNNELMUX_EVENT: event.type,
          TUNNELMUX_SERVICE: event.service ?? 'default',
          TUNNELMUX_PATH: pathOf(event) ?? '',
          TUNNELMUX_COUNT: String(batch.count),
          TUNNELMUX_INSTANCE: this.options.instance,
        },
        cwd: this.options.cwd,
        timeoutMs: this.timeoutMs,
        killGraceMs: this.defaults.killGraceMs,
        signal: this.signal,
      });
    }
    return postWebhook({
      url: hook.webhook,
      headers: hook.headers,
      body,
      timeoutMs: this.timeoutMs,
      retries: hook.retries ?? this.defaults.retries,
      backoffMs: this.defaults.backoffMs,
      signal: this.signal,
      secrets: webhookSecrets(hook.webhook, hook.headers),
    });
  }
}
