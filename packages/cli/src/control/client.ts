import { lstatSync, type Stats } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CliError, messageOf } from '../util/errors';
import { LineSplitter } from './lines';
import { permissionDenied } from './owner';
import type { ControlMethod, ControlResponse } from './protocol';
import type { ControlParams } from './request';
import { checkPrivateSocket } from './socket-path';

/** Open the control socket of a running `up`, checking it is this user's and private. */
export async function connectControl(file: string): Promise<net.Socket> {
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
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException) => {
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

/** Send one request and wait for its answer. */
export async function request<T = unknown, M extends ControlMethod = ControlMethod>(
  file: string,
  method: M,
  params?: ControlParams<M>,
): Promise<T> {
  const socket = await connectControl(file);
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
    socket.destroy();
  }
}

/** Stream `events --follow` until the server ends or `signal` aborts. */
export async function* streamEvents(
  file: string,
  params: ControlParams<'events'>,
  signal?: AbortSignal,
): AsyncGenerator<unknown> {
  const socket = await connectControl(file);
  const onAbort = () => socket.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const lines = readLines(socket);
    socket.write(`${JSON.stringify({ id: 1, method: 'events', params: { ...params, follow: true } })}\n`);
    for await (const line of lines) {
      const response = JSON.parse(line) as ControlResponse;
      if ('event' in response) yield response.event;
      else if (!response.ok) throw new CliError(response.error.message);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

// Answers can be large (a thousand recent events); the bound only stops a runaway peer.
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

// Codes that mean the request itself was wrong: a usage error (exit 2).
const USAGE_CODES = new Set(['ERR_USAGE', 'ERR_BAD_REQUEST', 'ERR_LINE_TOO_LONG']);

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
