import type net from 'node:net';
import { LineSplitter } from './lines';
import type { ControlErrorCode, ControlResponse } from './protocol';
import { type ControlRequest, parseRequest } from './request';

/** Bounds that keep one client, or many, from exhausting the instance it controls. */
export interface ControlLimits {
  /** Connections served at once; the next one gets an ERR_BUSY line and is closed. */
  maxConnections: number;
  /** A connection with no complete request for this long (and no stream running) is closed. */
  idleTimeoutMs: number;
  /** The longest request line; a longer one is answered with ERR_LINE_TOO_LONG and the connection closed. */
  maxLineBytes: number;
}

export const DEFAULT_LIMITS: ControlLimits = {
  maxConnections: 64,
  idleTimeoutMs: 15_000,
  maxLineBytes: 64 * 1024,
};

// Requests read ahead of the one being served; past this, reading pauses (back-pressure, not memory).
const READ_AHEAD = 16;

/** Serves one request, writing its answer (or events) with `send`; resolves when it is done. */
export type Serve = (request: ControlRequest, connection: Connection) => Promise<void>;

/** One client: requests served one at a time, in order; every bad line answered; bounded in time and size. */
export class Connection {
  /** Aborted when the client leaves or the connection is closed. */
  readonly signal: AbortSignal;
  private readonly abort = new AbortController();
  private readonly splitter: LineSplitter;
  private readonly queue: string[] = [];
  private busy = false;
  private streaming = false;
  private ended = false;
  private idle?: NodeJS.Timeout;

  constructor(
    readonly socket: net.Socket,
    private readonly limits: ControlLimits,
    private readonly serve: Serve,
  ) {
    this.signal = this.abort.signal;
    this.splitter = new LineSplitter(limits.maxLineBytes);
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    socket.on('end', () => {
      // No more requests: answer what is queued, then close; a stream has nobody left to read it.
      this.ended = true;
      if (this.streaming) this.abort.abort();
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(this.idle);
      this.abort.abort();
    });
    this.pump();
  }

  /** Write one response line; false when the client is not reading fast enough. */
  send(response: ControlResponse): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return true;
    return this.socket.write(`${JSON.stringify(response)}\n`);
  }

  /** Answer with an error and close, even if the client never reads it. */
  refuse(code: ControlErrorCode, message: string, id: number | null = null): void {
    this.stopIdle();
    this.queue.length = 0;
    refuse(this.socket, code, message, id);
  }

  private take(chunk: Buffer): void {
    const { lines, tooLong } = this.splitter.push(chunk);
    for (const line of lines) if (line.trim()) this.queue.push(line);
    if (tooLong) {
      this.refuse(
        'ERR_LINE_TOO_LONG',
        `[tunnelmux] bad control request: a line is longer than ${this.limits.maxLineBytes} bytes; ` +
          'send one short JSON object per line, ending with a newline',
      );
      return;
    }
    this.pump();
  }

  // Serve queued lines in order; bad ones are answered at once, good ones one at a time; none while the
  // client leaves answers unread, so a flood of bad lines cannot pile up answers in memory.
  private pump(): void {
    while (!this.busy && !this.socket.destroyed && !this.socket.writableNeedDrain) {
      const line = this.queue.shift();
      if (line === undefined) break;
      this.stopIdle();
      const parsed = parseRequest(line);
      if (!parsed.ok) {
        this.send({ id: parsed.id, ok: false, error: { message: parsed.message, code: 'ERR_BAD_REQUEST' } });
        continue;
      }
      const { request } = parsed;
      this.busy = true;
      this.streaming = request.method === 'events' && request.params.follow === true;
      this.serve(request, this)
        .catch(() => undefined)
        .finally(() => {
          this.busy = false;
          this.streaming = false;
          this.pump();
        });
    }
    if (this.streaming) this.answerBusy();
    if (this.ended && !this.busy && !this.socket.writableEnded) this.socket.end();
    else if (!this.busy && !this.socket.destroyed && !this.socket.writableEnded) this.armIdle();
    this.flow();
  }

  // A streaming connection belongs to its stream; other requests go on a connection of their own.
  private answerBusy(): void {
    for (const line of this.queue.splice(0)) {
      const parsed = parseRequest(line);
      this.send({
        id: parsed.ok ? parsed.request.id : parsed.id,
        ok: false,
        error: {
          message:
            '[tunnelmux] this connection is streaming events; send other requests on a connection of their own',
          code: 'ERR_BUSY',
        },
      });
    }
  }

  // Only a complete request resets the clock, so trickling bytes cannot hold a connection open.
  private armIdle(): void {
    if (this.idle) return;
    const ms = this.limits.idleTimeoutMs;
    this.idle = setTimeout(
      () =>
        this.refuse(
          'ERR_IDLE',
          `[tunnelmux] closing a control connection that sent no request for ${ms} ms; connect again when you have one`,
        ),
      ms,
    );
    this.idle.unref();
  }

  private stopIdle(): void {
    clearTimeout(this.idle);
    this.idle = undefined;
  }

  // Stop reading while too much waits: queued requests, or answers the client has not read.
  private flow(): void {
    if (this.socket.destroyed) return;
    const full = this.queue.length >= READ_AHEAD || this.socket.writableNeedDrain;
    if (full) this.socket.pause();
    else this.socket.resume();
  }
}

/** Write one error line and close: for connections refused before or instead of being served. */
export function refuse(
  socket: net.Socket,
  code: ControlErrorCode,
  message: string,
  id: number | null = null,
  { drain = false }: { drain?: boolean } = {},
) {
  socket.on('error', () => socket.destroy());
  const response: ControlResponse = { id, ok: false, error: { message, code } };
  const line = `${JSON.stringify(response)}\n`;
  if (drain) {
    // Refused on arrival: the client is still writing its request. Closing at once would fail that write with
    // EPIPE and throw the answer away unread; read and drop a little (at most 64 KiB) until the client closes.
    let dropped = 0;
    socket.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > 64 * 1024) socket.destroy();
    });
    socket.on('end', () => socket.destroy());
    socket.end(line);
  } else socket.end(line, () => socket.destroy());
  // A client that reads nothing must not hold the socket open by leaving the line unsent.
  setTimeout(() => socket.destroy(), 1000).unref();
}
