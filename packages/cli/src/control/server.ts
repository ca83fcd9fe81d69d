import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Manager, TunnelmuxEvent } from '@tunnelmux/core';
import { CliError, messageOf } from '../util/errors';
import type { ControlRequest, ControlResponse } from './protocol';
import { checkPrivate, ensurePrivateDir } from './socket-path';

/** What the control server needs besides the manager. */
export interface ControlContext {
  manager: Manager;
  /** Facts about this instance for `info`: listen address, config file, pid. */
  info: () => Record<string, unknown>;
  /** Recent events, oldest first, for `events` without --follow. */
  recent: () => TunnelmuxEvent[];
}

/** A unix-socket control API (NDJSON) that only this user can open: folder 0700, socket 0600. */
export class ControlServer {
  private server?: net.Server;
  private readonly clients = new Set<net.Socket>();
  private readonly streams = new Set<AbortController>();

  constructor(
    readonly file: string,
    private readonly context: ControlContext,
  ) {}

  async start(): Promise<void> {
    ensurePrivateDir(path.dirname(this.file));
    await removeStale(this.file);
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    // Create the socket private from its first instant, then make sure.
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.file, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previous);
    }
    chmodSync(this.file, 0o600);
    checkPrivate(this.file, 'socket');
  }

  async close(): Promise<void> {
    for (const stream of this.streams) stream.abort();
    for (const socket of this.clients) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.file, { force: true });
  }

  private accept(socket: net.Socket): void {
    this.clients.add(socket);
    const abort = new AbortController();
    this.streams.add(abort);
    socket.on('close', () => {
      this.clients.delete(socket);
      abort.abort();
      this.streams.delete(abort);
    });
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 1_000_000) {
        socket.destroy();
        return;
      }
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) void this.handle(line, socket, abort.signal);
        newline = buffer.indexOf('\n');
      }
    });
  }

  private async handle(line: string, socket: net.Socket, signal: AbortSignal): Promise<void> {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
    } catch {
      write(socket, { id: 0, ok: false, error: { message: 'request is not JSON', code: 'ERR_USAGE' } });
      return;
    }
    const id = typeof request.id === 'number' ? request.id : 0;
    try {
      if (request.method === 'events') {
        await this.events(id, request.params ?? {}, socket, signal);
        return;
      }
      const result = await this.call(request);
      write(socket, { id, ok: true, result });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      write(socket, {
        id,
        ok: false,
        error: { message: messageOf(error), code: typeof code === 'string' ? code : 'ERR_TUNNELMUX' },
      });
    }
  }

  private async call(request: ControlRequest): Promise<unknown> {
    const { manager } = this.context;
    const params = request.params ?? {};
    const pathId = () => {
      if (typeof params.id !== 'string') throw new CliError('a path id is required', 2);
      return params.id;
    };
    switch (request.method) {
      case 'info':
        return this.context.info();
      case 'status':
        return manager.status();
      case 'list':
        return manager.list();
      case 'metrics':
        return manager.getMetrics();
      case 'prometheus':
        return { contentType: manager.prometheusContentType, text: await manager.prometheus() };
      case 'primary':
        manager.setPrimary(params.id === null || params.id === undefined ? undefined : pathId());
        return manager.status();
      case 'failover':
        manager.enableAutoFailover(params.enabled !== false);
        return manager.status();
      case 'restart':
        return manager.restart(pathId());
      case 'stop':
        return manager.stop(pathId());
      default:
        throw new CliError(`unknown method ${JSON.stringify(request.method)}`, 2);
    }
  }

  private async events(
    id: number,
    params: Record<string, unknown>,
    socket: net.Socket,
    signal: AbortSignal,
  ): Promise<void> {
    const types =
      Array.isArray(params.types) && params.types.length > 0 ? (params.types as string[]) : undefined;
    // Without a type filter, probes, metrics and debug logs are left out unless `all` asks for them.
    const matches = (event: TunnelmuxEvent) =>
      types
        ? types.includes(event.type)
        : Boolean(params.all) ||
          !(
            event.type === 'probe' ||
            event.type === 'metrics' ||
            (event.type === 'log' && event.level === 'debug')
          );
    const recent = this.context.recent().filter(matches);
    const limit = typeof params.limit === 'number' ? params.limit : 50;
    if (!params.follow) {
      write(socket, { id, ok: true, result: recent.slice(-limit) });
      return;
    }
    // Subscribe before replaying, so nothing falls between the two.
    const subscription = this.context.manager.events.subscribe((types ?? '*') as '*', undefined, {
      signal,
      bufferSize: 4096,
    });
    const lastSeq = recent.at(-1)?.seq ?? 0;
    for (const event of recent.slice(-limit)) write(socket, { id, event });
    for await (const event of subscription) {
      if (event.seq <= lastSeq || !matches(event)) continue;
      if (!write(socket, { id, event })) await waitDrain(socket, signal);
    }
    socket.end();
  }
}

function write(socket: net.Socket, response: ControlResponse): boolean {
  if (socket.destroyed) return true;
  return socket.write(`${JSON.stringify(response)}\n`);
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
