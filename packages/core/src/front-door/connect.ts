import type { Duplex } from 'node:stream';
import { DeadlineList, type DeadlineNode } from '../async/deadline-list';
import { errorMessage } from '../errors';
import { isOutOfDescriptors } from '../net/local-exhaustion';
import type { DialAttempt, DialSink, Route, RouteSource } from './route-source';

/** How to reach a path that carries a client. */
export interface ConnectOptions {
  /** `ssh` waits for the path's first byte (first-byte failover); `tcp` takes the first dial that connects. */
  protocol: 'ssh' | 'tcp';
  dialTimeout: number;
  firstByteTimeout: number;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
  /** Called before each attempt, e.g. to count attempts. */
  onAttempt?(route: Route): void;
}

/** The reason given when a dial failed because this process ran out of file descriptors. */
export const OUT_OF_DESCRIPTORS = 'local: out of file descriptors';

/** A path that answered: its stream, and (ssh) the first bytes it sent. */
export interface Connected {
  route: Route;
  stream: Duplex;
  first?: Buffer;
}

/** What a connect came to: the path that answered, if any, and why each one tried before it did not. */
export interface ConnectResult {
  connected?: Connected;
  reasons: string[];
}

/**
 * Dial each healthy route in order, never one that already failed, until one connects (and for ssh speaks).
 * Each failure is reported against its path. Resolves undefined, with the reasons, when none could; or when
 * the client went away.
 */
export function connectWithFailover(source: RouteSource, options: ConnectOptions): Promise<ConnectResult> {
  const { signal } = options;
  if (signal.aborted) return Promise.resolve({ reasons: [] });
  return new Promise((resolve, reject) => {
    let connecting: Connecting | undefined;
    // One listener for the whole connect, not one per attempt.
    const onAbort = () => connecting?.clientGone(signal.reason);
    const settled = () => signal.removeEventListener('abort', onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
    connecting = new Connecting(source, options, {
      connected(result) {
        settled();
        resolve(result);
      },
      connectFailed(error) {
        settled();
        reject(error);
      },
    });
    connecting.start();
  });
}

/** Where a connect reports how it came out. */
export interface ConnectSink {
  connected(result: ConnectResult): void;
  /** Something threw that is no path's failure (a bug, or a route source that threw). */
  connectFailed(error: unknown): void;
}

// A listener shared by every connection ('error', or 'finish' once a side has ended): an emitter calls it with
// itself as `this`, so it is no closure.
export function destroyStream(this: Duplex): void {
  this.destroy();
}

/**
 * One client's connect, driven by callbacks rather than awaits: the dial starts before `start()` returns, and
 * a connection costs this object and a controller per attempt, not a promise chain, a listener on the client's
 * signal and a timer per attempt and a promise per phase.
 */
export class Connecting implements DeadlineNode, DialSink {
  readonly reasons: string[] = [];
  private readonly tried: string[] = [];
  private route: Route | undefined;
  private attempt: DialAttempt | undefined;
  private stream: Duplex | undefined;
  deadlineAt = 0;
  linkPrev: DeadlineNode | undefined;
  linkNext: DeadlineNode | undefined;
  private readonly deadlines: DeadlineList;
  // 'dial' while a dial is under way, 'first-byte' while an ssh path has connected and not spoken yet.
  private phase: 'idle' | 'dial' | 'first-byte' | 'done' = 'idle';
  private gone = false;

  constructor(
    private readonly source: RouteSource,
    // Read as each attempt starts: a door's settings follow the manager's as they are reconfigured.
    private readonly options: Omit<ConnectOptions, 'signal'> & {
      /** Where the dial and first-byte limits wait: one list per front door, not a timer per connection. */
      deadlines?: DeadlineList;
    },
    private readonly sink: ConnectSink,
    /** Counted before each attempt, as `onAttempt` would, without a callback. */
    private readonly counts?: { attempts: number },
  ) {
    this.deadlines = options.deadlines ?? new DeadlineList();
  }

  /** Start dialling now: the first dial begins before this returns; the sink hears how it came out. */
  start(): void {
    this.next();
  }

  /** The client went away: abort what is under way, report nothing more against any path. */
  clientGone(reason: unknown): void {
    if (this.gone || this.phase === 'done') return;
    this.gone = true;
    this.attempt?.abort(reason);
    if (this.phase === 'first-byte') {
      this.stopWaiting();
      this.stream?.destroy();
      this.finish(undefined);
    }
    // A dial under way settles on its abort and finishes the connect there.
  }

  private next(): void {
    try {
      if (this.gone) {
        this.finish(undefined);
        return;
      }
      const route = this.source.routes().find((candidate) => !this.tried.includes(candidate.id));
      if (!route) {
        this.finish(undefined);
        return;
      }
      this.tried.push(route.id);
      this.route = route;
      if (this.counts) this.counts.attempts += 1;
      this.options.onAttempt?.(route);
      this.phase = 'dial';
      this.deadlines.add(this, this.options.dialTimeout);
      // A path that is a plain TCP connect is dialled through callbacks: no promise or signal per client.
      const direct = route.connect?.(this);
      if (direct) {
        this.attempt = direct;
        return;
      }
      const attempt = new AbortController();
      this.attempt = attempt;
      let dialled: Promise<Duplex>;
      try {
        dialled = this.route.dial(attempt.signal);
      } catch (error) {
        dialled = Promise.reject(error);
      }
      dialled.then(this.dialled, this.dialFailed);
    } catch (error) {
      this.fail(error);
    }
  }

  onDeadline(): void {
    if (this.phase === 'dial') {
      this.attempt?.abort(new Error(`timed out after ${this.options.dialTimeout} ms`));
    } else if (this.phase === 'first-byte') {
      const silence = new FirstByteTimeout(`no first byte within ${this.options.firstByteTimeout} ms`);
      this.attempt?.abort(silence);
      this.silent(silence);
    }
  }

  // The sink of a callback dial and the handlers of a promised one alike.
  readonly dialled = (stream: Duplex): void => {
    if (this.phase !== 'dial') {
      stream.destroy();
      return;
    }
    this.stream = stream;
    stream.on('error', destroyStream);
    if (this.options.protocol === 'tcp') {
      this.finish({ route: this.route!, stream });
      return;
    }
    if (this.gone) {
      // The client left while the dial was completing: nothing to wait for.
      stream.destroy();
      this.finish(undefined);
      return;
    }
    // The dial's limit ends here; the first byte's starts.
    this.clearTimer();
    this.phase = 'first-byte';
    this.deadlines.add(this, this.options.firstByteTimeout);
    stream.on('data', this.onData);
    stream.on('end', this.onSilentEnd);
    stream.on('close', this.onSilentEnd);
    stream.on('error', this.onStreamError);
  };

  readonly dialFailed = (error: unknown): void => {
    if (this.phase !== 'dial') return;
    this.clearTimer();
    // Our own exhaustion is no fault of the path, and every other path would fail the same way.
    if (isOutOfDescriptors(error)) {
      this.reasons.push(`${OUT_OF_DESCRIPTORS} (${errorMessage(error)})`);
      this.finish(undefined);
      return;
    }
    this.failed(`dial failed: ${errorMessage(error)}`);
    this.next();
  };

  private readonly onData = (chunk: Buffer | string): void => {
    const stream = this.stream!;
    this.stopWaiting();
    stream.pause();
    const first = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    this.finish({ route: this.route!, stream, first });
  };

  private readonly onSilentEnd = (): void => {
    this.silent(new Error('the path closed the connection before the target spoke'));
  };

  private readonly onStreamError = (error: Error): void => {
    this.silent(error);
  };

  /** The connected path gave no first byte: drop it and try the next. */
  private silent(error: unknown): void {
    if (this.phase !== 'first-byte') return;
    this.stopWaiting();
    this.clearTimer();
    this.stream?.destroy();
    this.stream = undefined;
    this.failed(describeSilence(error));
    this.next();
  }

  private stopWaiting(): void {
    const stream = this.stream;
    if (!stream) return;
    stream.off('data', this.onData);
    stream.off('end', this.onSilentEnd);
    stream.off('close', this.onSilentEnd);
    stream.off('error', this.onStreamError);
  }

  private failed(reason: string): void {
    if (this.gone) return;
    const id = this.route!.id;
    this.reasons.push(`${id}: ${reason}`);
    this.source.dialFailed(id, reason);
  }

  private clearTimer(): void {
    this.deadlines.remove(this);
  }

  private finish(connected: Connected | undefined): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.clearTimer();
    this.attempt = undefined;
    this.sink.connected(connected ? { connected, reasons: this.reasons } : { reasons: this.reasons });
  }

  private fail(error: unknown): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.clearTimer();
    this.sink.connectFailed(error);
  }
}

// Plain Error: its message goes into a reason string, without the [tunnelmux] prefix.
class FirstByteTimeout extends Error {}

/** Why a path gave no first byte: silent for the whole wait, or it reset or ended the connection first. */
function describeSilence(error: unknown): string {
  if (error instanceof FirstByteTimeout) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNRESET')
    return `the path reset the connection before the target spoke (${errorMessage(error)})`;
  // A system error is the path failing; anything else is firstBytes() saying the path ended the stream.
  return code === undefined
    ? errorMessage(error)
    : `the path failed before the target spoke (${errorMessage(error)})`;
}
