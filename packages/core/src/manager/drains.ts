import { abortable } from '../async/abortable';
import { deadline } from '../async/deadline';
import { monotonicNow } from '../async/monotonic';
import type { EventInput } from '../events/types';
import type { PathRunner } from './path-runner';

/** A path out of the rotation, waiting for its live connections to end. */
export interface DrainingPath {
  id: string;
  provider: string;
  activeConnections: number;
  /** Epoch ms the drain began. */
  since: number;
  /** Epoch ms at which what is still open will be cut. */
  until: number;
}

/** How `drain` ended. */
export interface DrainResult {
  id: string;
  /** Connections still open at the timeout, which were cut. */
  closedConnections: number;
  waitedMs: number;
}

/**
 * The paths a manager has taken out of the rotation: each one's live connections run until they end, the
 * timeout passes or the manager shuts down (then what is left is cut); then it is stopped.
 */
export class Drains {
  private readonly draining = new Map<PathRunner, DrainingPath>();
  private readonly pending = new Set<Promise<DrainResult>>();
  private readonly closed = new AbortController();

  constructor(private readonly emit: (event: EventInput) => void) {}

  /** Drain `runner`, already out of the rotation; resolves once it is stopped. */
  start(runner: PathRunner, timeoutMs: number): Promise<DrainResult> {
    const since = monotonicNow();
    const info = { id: runner.id, provider: runner.provider.name, since, until: since + timeoutMs };
    this.draining.set(runner, { ...info, activeConnections: runner.counters.activeConnections });
    this.emit({
      type: 'path-draining',
      pathId: runner.id,
      provider: runner.provider.name,
      activeConnections: runner.counters.activeConnections,
      timeoutMs,
    });
    const done = (async (): Promise<DrainResult> => {
      try {
        const limit = deadline(timeoutMs, this.closed.signal);
        // Ends at idle, at the timeout, or at shutdown; whichever comes first.
        await abortable(runner.counters.whenIdle(), limit.signal).catch(() => undefined);
        limit.done();
        const closedConnections = runner.counters.cutAll();
        await runner.stop('drained');
        const waitedMs = monotonicNow() - since;
        this.emit({
          type: 'path-drained',
          pathId: runner.id,
          provider: runner.provider.name,
          closedConnections,
          waitedMs,
        });
        return { id: runner.id, closedConnections, waitedMs };
      } finally {
        this.draining.delete(runner);
      }
    })();
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done)).catch(() => undefined);
    return done;
  }

  /** The runners still draining. */
  runners(): PathRunner[] {
    return [...this.draining.keys()];
  }

  /** What status reports of each, with its live count now. */
  list(): DrainingPath[] {
    return [...this.draining].map(([runner, info]) => ({
      ...info,
      activeConnections: runner.counters.activeConnections,
    }));
  }

  /** Cut every drain short (shutdown) and wait until each path is stopped. */
  async end(): Promise<void> {
    this.closed.abort();
    await Promise.allSettled([...this.pending]);
  }
}
