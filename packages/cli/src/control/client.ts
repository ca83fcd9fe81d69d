import { lstatSync, type Stats } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import ms from 'ms';
import { CliError, messageOf } from '../util/errors';
import { LineSplitter } from './lines';
import { permissionDenied } from './owner';
import type { ControlMethod, ControlResponse } from './protocol';
import type { ControlParams } from './request';
import { checkPrivateSocket } from './socket-path';

/** How long a control command waits for its answer unless `--timeout` says otherwise. */
export const DEFAULT_ANSWER_MS = 10_000;

/** Options of one exchange with a running `up`. */
export interface ExchangeOptions {
  /** Give up when no answer came within this many milliseconds (default {@link DEFAULT_ANSWER_MS}). */
  timeout?: number;
}

/** Open the control socket of a running `up`, checking it is this user's and private. */
export async function connectControl(file: string, signal?: AbortSignal): Promise<net.Socket> {
  let stat: Stats;
  try {
    stat = lstatSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw permissionDenied(file, path.dirname(file), error);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CliError(
        `[tunnelmux] no tunnelmux is running on ${file} (no control socket there); start one with \`tunnelmux up\``,
        1,
        { cause: error },
      );
    }
    throw new CliError(`[tunnelmux] cannot look at ${file}: ${messageOf(error)}`, 1, { cause: error });
  }
  checkPrivateSocket(file, stat);
  return new Promise((resolve, reject) => {
    const socket = net.connect(file);
    // A full accept queue (an instance that stopped accepting) must not stall the connect either.
    const onAbort = () => {
      socket.destroy();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      if (error.code === 'ECONNREFUSED') {
        reject(
          new CliError(
            `[tunnelmux] the control socket ${file} is stale (nothing answers); start \`tunnelmux up\` again`,
            1,
            { cause: error },
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(permissionDenied(file, path.dirname(file), error));
      } else reject(new CliError(`[tunnelmux] cannot reach ${file}: ${error.message}`, 1, { cause: error }));
    };
    socket.once('error', onError);
  });
}

/** Send one request and wait for its answer, at most `timeout`. */
export async function request<T = unknown, M extends ControlMethod = ControlMethod>(
  file: string,
  method: M,
  params?: ControlParams<M>,
  options: ExchangeOptions = {},
): Promise<T> {
  const { socket, stop } = await connectWithin(file, options.timeout);
  try {
    const lines = readLines(socket);
    socket.write(`${JSON.stringify({ id: 1, method, params })}\n`);
    for await (const line of lines) {
      const response = JSON.parse(line) as ControlResponse;
      if ('event' in response) continue;
      if (response.ok) return response.result as T;
      throw new CliError(response.error.message, USAGE_CODES.has(response.error.code) ? 2 : 1);
    }
    throw new CliError(`[tunnelmux] ${file} closed without answering; is \`tunnelmux up\` shutting down?`);
  } finally {
    stop();
    socket.destroy();
  }
}

/**
 * Stream `events --follow` until the server ends or `signal` aborts. A quiet stream is normal, so only the
 * start is bounded: an `info` request goes first on the same connection, and its answer proves the instance
 * alive before the stream may stay silent for as long as it likes.
 */
export async function* streamEvents(
  file: string,
  params: ControlParams<'events'>,
  signal?: AbortSignal,
  options: ExchangeOptions = {},
): AsyncGenerator<unknown> {
  const connected = await connectWithin(file, options.timeout);
  const { socket } = connected;
  let { stop } = connected;
  const onAbort = () => socket.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const lines = readLines(socket);
    // The server answers requests on a connection in order, so `info` is answered before the stream starts.
    socket.write(
      `${JSON.stringify({ id: 0, method: 'info' })}\n` +
        `${JSON.stringify({ id: 1, method: 'events', params: { ...params, follow: true } })}\n`,
    );
    for await (const line of lines) {
      const response = JSON.parse(line) as ControlResponse;
      if ('event' in response) yield response.event;
      else if (!response.ok) throw new CliError(response.error.message);
      else if (response.id === 0) {
        // Alive: from here on the stream may stay quiet for as long as nothing happens.
        stop();
        stop = () => undefined;
      }
    }
  } finally {
    stop();
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

/**
 * Connect to `file` and bound how long the instance may take to answer: when time runs out the socket is
 * destroyed with an error that says what to do. `stop()` lifts the bound; a failed connect lifts it too, so no
 * timer is left to hold the process open after an error.
 */
async function connectWithin(
  file: string,
  timeout = DEFAULT_ANSWER_MS,
): Promise<{ socket: net.Socket; stop: () => void }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(noAnswer(file, timeout)), timeout);
  let socket: net.Socket;
  try {
    socket = await connectControl(file, controller.signal);
  } catch (error) {
    clearTimeout(timer);
    throw error;
  }
  const onAbort = () => socket.destroy(controller.signal.reason as Error);
  controller.signal.addEventListener('abort', onAbort, { once: true });
  const stop = () => {
    clearTimeout(timer);
    controller.signal.removeEventListener('abort', onAbort);
  };
  return { socket, stop };
}

function noAnswer(file: string, timeout: number): CliError {
  return new CliError(
    `[tunnelmux] the tunnelmux at ${file} did not answer within ${ms(timeout)}. ` +
      'Is it stopped (Ctrl-Z or SIGSTOP)? Resume it with `kill -CONT <pid>` ' +
      '(find the pid with `pgrep -af "tunnelmux (up|expose)"`); if it is hung, stop it and start it again. ' +
      'Pass --timeout <duration> (e.g. 30s) to wait longer.',
  );
}

// Answers can be large (a thousand recent events); the bound only stops a runaway peer.
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

// Codes that mean the request itself was wrong: a usage error (exit 2).
const USAGE_CODES = new Set([
  'ERR_USAGE',
  'ERR_BAD_REQUEST',
  'ERR_LINE_TOO_LONG',
  'ERR_CONFIG',
  'ERR_NO_SERVICE',
]);

async function* readLines(socket: net.Socket): AsyncGenerator<string> {
  const splitter = new LineSplitter(MAX_ANSWER_BYTES);
  try {
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      const { lines, tooLong } = splitter.push(chunk);
      for (const line of lines) if (line.trim()) yield line;
      if (tooLong)
        throw new CliError(`[tunnelmux] an answer on the control socket is over ${MAX_ANSWER_BYTES} bytes`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET' && (error as Error).name !== 'AbortError')
      throw error;
  }
}
