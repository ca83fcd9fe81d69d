import { existsSync } from 'node:fs';
import net from 'node:net';
import { CliError } from '../util/errors';
import { LineSplitter } from './lines';
import type { ControlMethod, ControlResponse } from './protocol';
import type { ControlParams } from './request';
import { checkPrivate } from './socket-path';

/** Open the control socket of a running `up`, checking it is this user's and private. */
export async function connectControl(file: string): Promise<net.Socket> {
  if (!existsSync(file)) {
    throw new CliError(
      `[tunnelmux] no tunnelmux is running here (no control socket at ${file}); start one with \`tunnelmux up\``,
    );
  }
  checkPrivate(file, 'socket');
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
          ),
        );
      } else if (error.code === 'EACCES') {
        reject(
          new CliError(
            `[tunnelmux] permission denied on ${file}: only the user who ran \`tunnelmux up\` may control it`,
          ),
        );
      } else reject(new CliError(`[tunnelmux] cannot reach ${file}: ${error.message}`));
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
