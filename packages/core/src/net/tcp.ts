import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineList, type DeadlineNode } from '../async/deadline-list';
import { monotonicNow } from '../async/monotonic';
import { TunnelmuxError } from '../errors';
import type { Target } from '../provider/types';

/** `host:port`, with brackets for IPv6. */
export function formatTarget(target: Target): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** A free TCP port on `host`: bind port 0, read it, release it. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A connected socket to `target`, or a rejection on error, abort or timeout (default 5 s). */
export function dialTcp(
  target: Target,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    new TcpDial(target, options.timeoutMs ?? 5000, options.signal, resolve, reject).start();
  });
}

/** A dial under way through callbacks; `abort` ends it, and the error callback then hears the reason. */
export interface TcpConnecting {
  abort(reason: unknown): void;
}

/**
 * A TCP connect through callbacks: exactly one of `onConnect` and `onError` is called, never before this returns.
 * For a caller that dials for every client and would rather not pay a promise and a signal listener each time;
 * otherwise use `dialTcp`. Limited to `timeoutMs`, as `dialTcp` is.
 */
export function connectTcp(
  target: Target,
  timeoutMs: number,
  onConnect: (socket: net.Socket) => void,
  onError: (error: Error) => void,
): TcpConnecting {
  let starting = true;
  const dial = new TcpDial(target, timeoutMs, undefined, onConnect, (error) => {
    // A connect that fails at once (a bad port) is still reported later, as a rejection would be.
    if (starting) process.nextTick(onError, error);
    else onError(error);
  });
  dial.start();
  starting = false;
  return dial;
}

const kDial = Symbol('tunnelmux.tcpDial');
type DialSocket = net.Socket & { [kDial]?: TcpDial };

// Shared by every dial (a socket's listeners are called with the socket as `this`): no closures per dial.
function onDialConnect(this: DialSocket): void {
  this[kDial]?.done(undefined);
}
function onDialError(this: DialSocket, error: Error): void {
  this[kDial]?.done(error);
}
// Every dial's limit waits on one timer: a Node timer per dial was made and cleared for every client carried.
const dialDeadlines = new DeadlineList();

/**
 * One dial: a dial is made for every client a front door carries, so it is one object listening through
 * shared functions (and one closure on its signal), instead of a closure and a once-wrapper per event.
 */
class TcpDial implements DeadlineNode, TcpConnecting {
  private socket: DialSocket | undefined;
  deadlineAt = 0;
  linkPrev: DeadlineNode | undefined;
  linkNext: DeadlineNode | undefined;

  constructor(
    private readonly target: Target,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (socket: net.Socket) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  start(): void {
    // Half-open so a client's half-close travels end to end.
    const socket: DialSocket = new net.Socket({ allowHalfOpen: true, noDelay: true });
    this.socket = socket;
    socket[kDial] = this;
    socket.on('connect', onDialConnect);
    socket.on('error', onDialError);
    dialDeadlines.add(this, this.timeoutMs);
    if (this.signal?.aborted) {
      this.aborted();
      return;
    }
    this.signal?.addEventListener('abort', this.onAbort);
    // Last: net connects on the next tick, so whatever ran after this in the same turn would delay it.
    try {
      socket.connect({ host: this.target.host, port: this.target.port });
    } catch (error) {
      // A port out of range throws here rather than failing the connect.
      this.done(error instanceof Error ? error : new TunnelmuxError(String(error)));
    }
  }

  abort(reason: unknown): void {
    this.done(reason instanceof Error ? reason : new TunnelmuxError('aborted', { cause: reason }));
  }

  // A function, not the dial as a listener object (`handleEvent`): Node keeps more of a dial alive through the
  // young-generation GCs when its signal's listener is an object (measured: about 0.8 KB a dial).
  private readonly onAbort = () => this.aborted();

  aborted(): void {
    this.done(abortReason(this.signal));
  }

  onDeadline(): void {
    this.done(
      new TunnelmuxError(`connect to ${formatTarget(this.target)} timed out after ${this.timeoutMs} ms`),
    );
  }

  done(error: Error | undefined): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    dialDeadlines.remove(this);
    this.signal?.removeEventListener('abort', this.onAbort);
    socket[kDial] = undefined;
    socket.off('connect', onDialConnect);
    socket.off('error', onDialError);
    if (error) {
      socket.destroy();
      this.reject(error);
    } else {
      this.resolve(socket);
    }
  }
}

/**
 * Poll-connect until `target` accepts. Bounded by `timeoutMs` (default 30 s); rejects early on abort or
 * when `until` settles (e.g. the tool exited before listening).
 */
export async function waitForPort(
  target: Target,
  options: { signal?: AbortSignal; timeoutMs?: number; until?: Promise<unknown> } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = monotonicNow() + timeoutMs;
  let settled: { error: Error } | undefined;
  options.until?.then(
    () => {
      settled = {
        error: new TunnelmuxError(`gave up waiting for ${formatTarget(target)}: the process ended`),
      };
    },
    (error: unknown) => {
      settled = { error: error instanceof Error ? error : new Error(String(error)) };
    },
  );
  let delay = 10;
  for (;;) {
    if (options.signal?.aborted) throw abortReason(options.signal);
    if (settled) throw settled.error;
    try {
      const socket = await dialTcp(target, { signal: options.signal, timeoutMs: Math.min(1000, timeoutMs) });
      socket.destroy();
      return;
    } catch (error) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (monotonicNow() >= deadline) {
        throw new TunnelmuxError(
          `${formatTarget(target)} did not accept connections within ${timeoutMs} ms`,
          {
            cause: error,
          },
        );
      }
    }
    await sleep(delay).catch(() => undefined);
    delay = Math.min(delay * 2, 200);
  }
}

/** The reason an AbortSignal carries, as an Error. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new TunnelmuxError('aborted', { cause: reason });
}
