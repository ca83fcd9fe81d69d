import { rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createApp, type DashboardLimits, DEFAULT_LIMITS, type Streams } from './app';
import { DashboardError } from './errors';
import { EventRing } from './event-ring';
import { loadPage } from './page';
import { allowedHosts, cookieName, hostPort, isLoopback } from './security';
import { newToken, writeTokenFile } from './token';
import type { DashboardHandlers, HistoryProvider } from './types';

export interface DashboardOptions {
  /** The control socket's handlers: the API calls these and nothing else. */
  handlers: DashboardHandlers;
  /** Where to listen; default 127.0.0.1 on a free port. */
  listen?: { host?: string; port?: number };
  /** Allow a non-loopback `listen` (the token, Host and Origin checks still apply). */
  allowAllInterfaces?: boolean;
  /** More `Host` names to answer to (`name` or `name:port`), e.g. behind a reverse proxy. */
  allowedHosts?: string[];
  /** The token; default a fresh random one. */
  token?: string;
  /** Write the token here, mode 0600 (removed on close). */
  tokenFile?: string;
  /** Persistent history, for `GET history` and `GET report`. */
  history?: HistoryProvider;
  limits?: Partial<DashboardLimits>;
}

/** A running dashboard. */
export interface Dashboard {
  /** The page, without the token. */
  readonly url: string;
  /** The page with the token: what to print and open. */
  readonly open: string;
  readonly token: string;
  readonly address: { host: string; port: number };
  /** End every open event stream (clients reconnect with Last-Event-ID). */
  closeStreams(): void;
  close(): Promise<void>;
}

/** Serve the dashboard: the API, the event stream and the page, behind the token, Host and Origin checks. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const host = options.listen?.host ?? '127.0.0.1';
  const port = options.listen?.port ?? 0;
  if (!isLoopback(host) && !options.allowAllInterfaces) {
    throw new DashboardError(
      `[tunnelmux] the dashboard would listen on ${hostPort(host, port)}, which other machines can reach; ` +
        'use a loopback address such as 127.0.0.1:0, or set dashboard.allowAllInterfaces: true to mean it',
      'ERR_CONFIG',
    );
  }
  const token = options.token ?? newToken();
  const page = loadPage();
  const ring = new EventRing(options.handlers, limits.ringSize);
  const streams: Streams = { open: new Set() };
  // The app is made once the port is known: its Host list and cookie name carry the port.
  let app: ReturnType<typeof createApp> | undefined;
  const server = createAdaptorServer({
    fetch: (request, env) => (app ? app.fetch(request, env) : new Response(null, { status: 503 })),
    createServer: http.createServer,
    serverOptions: {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
    },
  }) as http.Server;
  server.maxConnections = limits.maxConnections;
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    ring.close();
    throw new DashboardError(
      `[tunnelmux] the dashboard cannot listen on ${hostPort(host, port)}: ${(error as Error).message}; ` +
        'choose another address (port 0 picks a free one)',
      'ERR_LISTEN',
      { cause: error },
    );
  }
  const bound = server.address() as net.AddressInfo;
  const address = { host: bound.address, port: bound.port };
  const allowed = allowedHosts(address, options.allowedHosts);
  app = createApp(
    {
      handlers: options.handlers,
      ring,
      token,
      cookie: cookieName(address.port),
      allowed: () => allowed,
      history: options.history,
      limits,
      page,
    },
    streams,
  );
  if (options.tokenFile) {
    try {
      writeTokenFile(options.tokenFile, token);
    } catch (error) {
      ring.close();
      server.close();
      throw error;
    }
  }
  // A wildcard address is not one to browse to; this machine's loopback is.
  const shown = address.host === '0.0.0.0' || address.host === '::' ? '127.0.0.1' : address.host;
  const url = `http://${hostPort(shown, address.port)}/`;
  const closeStreams = () => {
    for (const end of [...streams.open]) end();
  };
  // The instance stopped: its streams end with it.
  void ring.done.then(closeStreams);
  return {
    url,
    open: `${url}?token=${token}`,
    token,
    address,
    closeStreams,
    async close() {
      closeStreams();
      ring.close();
      if (options.tokenFile) rmSync(options.tokenFile, { force: true });
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
