import {
  createManager,
  type Manager,
  type PathStatus,
  type StartResult,
  type TunnelmuxEvent,
} from '@tunnelmux/core';
import type { FailoverInput } from '@tunnelmux/core/config';
import type { EventOf, EventType } from '@tunnelmux/core/events';
import type { Faults } from '../forwarder/faults';
import { createLocalProvider, type LocalOptions } from '../local/local-provider';
import { FaultPlan } from '../targets/fault-plan';
import { type BannerTarget, startBannerTarget } from '../targets/servers';
import { processesMatching } from './processes';
import { formatTimeline } from './timeline';

/** One local stand-in path of a story. */
export interface ScenarioPath {
  id: string;
  /** Lower is preferred; default: list order. */
  priority?: number;
  /** Faults in force before the path opens (e.g. `{ startup: 'auth' }`). */
  faults?: Faults;
  /** Extra options of the `local` provider (e.g. `secret`). */
  options?: Partial<Omit<LocalOptions, 'faultFile'>>;
}

export interface ScenarioOptions {
  /** The paths, best first; a string is shorthand for `{ id }`. */
  paths: ReadonlyArray<string | ScenarioPath>;
  /** Failover settings on top of the story defaults (fast probes, see `STORY_FAILOVER`). */
  failover?: FailoverInput;
  /** `ssh` (default) reads the banner on every probe, so a black hole or latency shows. */
  protocol?: 'ssh' | 'tcp';
  /** Start every path with `startMultiple` before returning (default true). */
  start?: boolean;
  /** The forwarder script (default testkit's built one). */
  forwarderScript?: string;
}

/** Fast settings for stories: a failure shows within about a second, a recovery within a few. */
export const STORY_FAILOVER: FailoverInput = {
  interval: 200,
  // Generous for a loaded 2-core machine: a healthy loopback probe answers in a few ms.
  timeout: 1000,
  maxLatency: 800,
  fall: 2,
  rise: 2,
  minDwell: 1000,
  backoffInitial: 200,
  backoffMax: 1000,
  openTimeout: 15_000,
};

/** A manager with local stand-in paths, a banner target and a recorded history, for tests that read like stories. */
export interface Story extends AsyncDisposable {
  readonly manager: Manager;
  readonly target: BannerTarget;
  readonly plan: FaultPlan;
  /** Every event so far, oldest first. */
  readonly events: readonly TunnelmuxEvent[];
  /** What `startMultiple` returned (empty when `start: false`). */
  readonly started: StartResult[];
  /** Epoch ms the story began. */
  readonly t0: number;
  /** The specs to hand to `manager.start` / `startMultiple` yourself. */
  spec(id: string): { id: string; provider: 'local'; priority?: number; options: Record<string, unknown> };
  /** The seq of the latest event: pass it to `waitFor` as `after` to wait only for what comes next. */
  mark(): number;
  /** The first event (already recorded or still to come) of `type` matching `predicate`; rejects on timeout. */
  waitFor<T extends EventType>(
    type: T,
    predicate?: (event: EventOf<T>) => boolean,
    timeoutMs?: number,
    options?: { after?: number },
  ): Promise<EventOf<T>>;
  /** Recorded events of `type` (optionally filtered). */
  eventsOf<T extends EventType>(type: T, predicate?: (event: EventOf<T>) => boolean): EventOf<T>[];
  /** Change the faults of a running path. */
  fault(pathId: string, faults: Faults): void;
  /** Signal a path's forwarder process (default SIGKILL); returns its pid. */
  kill(pathId: string, signal?: NodeJS.Signals): number;
  primary(): string | undefined;
  status(pathId: string): PathStatus;
  /** Live forwarder processes of this story (found by their fault file folder in argv). */
  processes(): Promise<number[]>;
  /** Probes, logs and metrics left out unless `all`. */
  timeline(options?: { all?: boolean }): string;
  /** Shut the manager down and check that no forwarder process is left; kills and reports any that are. */
  close(): Promise<void>;
}

/** Wait (bounded) until `check` is true. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`[tunnelmux] [testkit] timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Build a story: a banner target, local stand-in paths with fault files, a manager, and its history. */
export async function scenario(options: ScenarioOptions): Promise<Story> {
  const t0 = Date.now();
  const target = await startBannerTarget();
  const plan = new FaultPlan('tunnelmux-story-');
  const provider = createLocalProvider({ forwarderScript: options.forwarderScript });
  const manager = createManager({
    target: { host: target.host, port: target.port },
    protocol: options.protocol ?? 'ssh',
    failover: { ...STORY_FAILOVER, ...options.failover },
    providers: [provider],
    metricsInterval: 0,
  });
  const events: TunnelmuxEvent[] = [];
  const waiters = new Set<(event: TunnelmuxEvent) => void>();
  manager.events.on((event) => {
    events.push(event);
    for (const waiter of [...waiters]) waiter(event);
  });

  const paths = options.paths.map((path): ScenarioPath => (typeof path === 'string' ? { id: path } : path));
  const byId = new Map(paths.map((path) => [path.id, path]));
  for (const path of paths) if (path.faults) plan.set(path.id, path.faults);

  const spec = (id: string) => {
    const path = byId.get(id) ?? { id };
    return {
      id,
      provider: 'local' as const,
      ...(path.priority === undefined ? {} : { priority: path.priority }),
      options: { ...path.options, faultFile: plan.fileFor(id) } as Record<string, unknown>,
    };
  };

  let closing: Promise<void> | undefined;
  const story: Story = {
    manager,
    target,
    plan,
    events,
    started: [],
    t0,
    spec,
    mark: () => events.at(-1)?.seq ?? 0,
    waitFor<T extends EventType>(
      type: T,
      predicate: (event: EventOf<T>) => boolean = () => true,
      timeoutMs = 10_000,
      waitOptions: { after?: number } = {},
    ): Promise<EventOf<T>> {
      const after = waitOptions.after ?? 0;
      const matches = (event: TunnelmuxEvent): event is EventOf<T> =>
        event.type === type && event.seq > after && predicate(event as EventOf<T>);
      const seen = events.find(matches);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(
              `[tunnelmux] [testkit] no "${type}" event matching ${predicate.toString().slice(0, 120)} within ${timeoutMs} ms; timeline:\n${story.timeline()}`,
            ),
          );
        }, timeoutMs);
        const waiter = (event: TunnelmuxEvent) => {
          if (!matches(event)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(event);
        };
        waiters.add(waiter);
      });
    },
    eventsOf<T extends EventType>(
      type: T,
      predicate: (event: EventOf<T>) => boolean = () => true,
    ): EventOf<T>[] {
      return events.filter(
        (event): event is EventOf<T> => event.type === type && predicate(event as EventOf<T>),
      );
    },
    fault: (pathId, faults) => plan.set(pathId, faults),
    kill(pathId, signal = 'SIGKILL') {
      const pid = manager.status(pathId).pid;
      if (pid === undefined) {
        throw new Error(
          `[tunnelmux] [testkit] path "${pathId}" has no process to ${signal} (state ${manager.status(pathId).state})`,
        );
      }
      process.kill(pid, signal);
      return pid;
    },
    primary: () => manager.getPrimary(),
    status: (pathId) => manager.status(pathId),
    processes: () => processesMatching(plan.dir),
    timeline: (timelineOptions) => formatTimeline(events, t0, timelineOptions),
    close() {
      closing ??= (async () => {
        try {
          await manager.shutdown();
          let left: number[] = [];
          const gone = async () => {
            left = await story.processes();
            return left.length === 0;
          };
          await until(gone, 5000, 'every forwarder process to exit').catch(() => undefined);
          if (left.length > 0) {
            for (const pid of left) {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                // Already gone.
              }
            }
            throw new Error(
              `[tunnelmux] [testkit] forwarder processes outlived manager.shutdown(): ${left.join(', ')} (killed now)`,
            );
          }
        } finally {
          await target.close();
          plan.dispose();
        }
      })();
      return closing;
    },
    [Symbol.asyncDispose]: () => story.close(),
  };

  if (options.start ?? true) {
    try {
      (story as { started: StartResult[] }).started = await manager.startMultiple(
        paths.map((path) => spec(path.id)),
      );
    } catch (error) {
      await story.close().catch(() => undefined);
      throw error;
    }
  }
  return story;
}
