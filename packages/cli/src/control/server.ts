import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ManagerStatus, MetricsSnapshot, PathStatus, TunnelmuxEvent } from '@tunnelmux/core';
import type { SubscribeOptions } from '@tunnelmux/core/events';
import { CliError, messageOf } from '../util/errors';
import { Connection, type ControlLimits, DEFAULT_LIMITS, refuse } from './connection';
import { type ControlHandlers, controlHandlers, type DashboardAddress } from './handlers';
import type { ControlRequest } from './request';
import { checkPrivateSocket, ensurePrivateDir } from './socket-path';

export type { ControlLimits } from './connection';

/** What every instance answers on its control socket: `up`'s Manager and a `relay` both implement it. */
export interface ControlInstance {
  /** A JSON-safe snapshot; a relay's carries `kind: 'relay'` so clients pick its renderer. */
  status(): unknown;
  getMetrics(): unknown;
  prometheus(): Promise<string>;
  readonly prometheusContentType: string;
  events: {
    subscribe(name: '*', filter: undefined, options: SubscribeOptions): AsyncIterable<TunnelmuxEvent>;
  };
}

/** Path control, served only by instances that run paths (`up`, `expose`); `service` picks one of several. */
export interface ControlPaths {
  list(): PathStatus[];
  setPrimary(id: string | undefined, service?: string): unknown;
  enableAutoFailover(enabled: boolean, service?: string): unknown;
  restart(id: string, service?: string): Promise<PathStatus>;
  stop(id: string, service?: string): Promise<PathStatus>;
}

/** The part of a Manager the control socket drives. */
export interface ControlManager extends ControlInstance, ControlPaths {
  status(): ManagerStatus;
  getMetrics(): MetricsSnapshot;
}

/** What the control server needs besides the instance. */
export interface ControlContext {
  instance: ControlInstance;
  /** Absent on an instance without paths (a relay): `list`, `primary`, ... then answer ERR_NO_PATHS. */
  paths?: ControlPaths;
  /** What this instance is, for the ERR_NO_PATHS message ("relay"). */
  kind?: string;
  /** Facts about this instance for `info`: listen address, config file, pid. */
  info: () => Record<string, unknown>;
  /** Recent events, oldest first, for `events` without --follow. */
  recent: () => TunnelmuxEvent[];
  /** Read the config again and apply the difference (`up` only); refusals carry code ERR_CONFIG. */
  reload?: () => Promise<unknown>;
  /** Where the dashboard is served, once it is (`tunnelmux dashboard`). */
  dashboard?: () => DashboardAddress | undefined;
}

/**
 * A unix-socket control API (NDJSON) that only this user can open: folder 0700, socket 0600. Every line gets
 * an answer, bad ones an error; connections are capped, idle ones closed, and lines bounded (see ControlLimits).
 */
export class ControlServer {
  private server?: net.Server;
  private readonly clients = new Set<net.Socket>();
  readonly limits: ControlLimits;
  /** What this socket answers with; the dashboard's HTTP API calls the very same. */
  readonly handlers: ControlHandlers;

  constructor(
    readonly file: string,
    context: ControlContext,
    limits: Partial<ControlLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.handlers = controlHandlers(context);
  }

  async start(): Promise<void> {
    ensurePrivateDir(path.dirname(this.file));
    await removeStale(this.file);
    // Half-open: a client may send its request and shut its side; it still gets the answer.
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server = server;
    // Create the socket private from its first instant, then make sure.
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // Node's default backlog (511) makes a burst of connects fail with EAGAIN before we can answer ERR_BUSY.
        server.listen({ path: this.file, backlog: 2048 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previous);
    }
    chmodSync(this.file, 0o600);
    checkPrivateSocket(this.file);
  }

  async close(): Promise<void> {
    for (const socket of this.clients) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.file, { force: true });
  }

  private accept(socket: net.Socket): void {
    if (this.clients.size >= this.limits.maxConnections) {
      refuse(
        socket,
        'ERR_BUSY',
        `[tunnelmux] ${this.clients.size} control connections are open, the most this instance serves at once; ` +
          'close one (an `events --follow` left running?) and try again',
        null,
        { drain: true },
      );
      return;
    }
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    new Connection(socket, this.limits, (request, connection) => this.handle(request, connection));
  }

  private async handle(request: ControlRequest, connection: Connection): Promise<void> {
    const { id } = request;
    try {
      if (request.method === 'events') {
        await this.events(id, request.params, connection);
        return;
      }
      const result = await this.handlers.call(request);
      connection.send({ id, ok: true, result });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      connection.send({
        id,
        ok: false,
        error: { message: messageOf(error), code: typeof code === 'string' ? code : 'ERR_TUNNELMUX' },
      });
    }
  }

  private async events(
    id: number,
    params: Extract<ControlRequest, { method: 'events' }>['params'],
    connection: Connection,
  ): Promise<void> {
    const { signal, socket } = connection;
    const { replay, live } = this.handlers.events(params, signal);
    if (!live) {
      connection.send({ id, ok: true, result: replay });
      return;
    }
    for (const event of replay) connection.send({ id, event });
    for await (const event of live) {
      if (!connection.send({ id, event })) await waitDrain(socket, signal);
    }
    // The stream ended (the instance is stopping, or the client left): so does the connection.
    socket.end();
  }
}

function waitDrain(socket: net.Socket, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    socket.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

// A socket file left by a crashed run is removed; a live one means another `up` owns this name.
async function removeStale(file: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(file);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) {
    throw new CliError(
      `[tunnelmux] another tunnelmux is already running on ${file}; stop it, or use --name / --socket for a second one`,
    );
  }
  rmSync(file, { force: true });
}
