import net from 'node:net';
import type { Duplex } from 'node:stream';
import { errorMessage, TunnelmuxError } from '../errors';
import { deadline } from '../failover/delay';
import { firstBytes } from '../failover/probe';
import type { Manager } from '../manager/manager';
import type { PathRunner } from '../manager/path-runner';
import { formatTarget } from '../net/tcp';
import { checkListenHost, isLoopback } from './listen-address';

/** How the front door listens and fails over. */
export interface FrontDoorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port (read it from `address`). */
  port?: number;
  /** Needed to bind anything but loopback. */
  allowAllInterfaces?: boolean;
  /** Default: the manager's protocol. `ssh` turns on first-byte failover. */
  protocol?: 'ssh' | 'tcp';
  /** Wait for a path's first byte before giving up on it (ssh only); default failover.firstByteTimeout. */
  firstByteTimeout?: number;
  /** Time allowed for one dial through one path; default 2000 ms. */
  dialTimeout?: number;
  /** Client bytes held for replay while a path has not spoken yet; default 64 KiB. */
  holdLimit?: number;
  /** On close, how long open connections may drain before they are cut; default 5000 ms. */
  drainTimeout?: number;
}

/** One client connection, for status. */
export interface FrontDoorConnection {
  id: number;
  client: string;
  pathId?: string;
  bytesIn: number;
  bytesOut: number;
  openedAt: number;
  /** Paths tried before one carried it. */
  attempts: number;
}

/** The stable local port in front of every path. */
export interface FrontDoor extends AsyncDisposable {
  readonly address: { host: string; port: number };
  connections(): FrontDoorConnection[];
  /** Stop accepting, drain up to `drainTimeout`, then cut what is left. */
  close(): Promise<void>;
}

const DEFAULT_HOLD_LIMIT = 64 * 1024;

/** Listen on a loopback port and carry each client connection through the best healthy path. */
export async function openFrontDoor(
  manager: Manager,
  options: FrontDoorOptions & { defaultProtocol: 'ssh' | 'tcp'; defaultFirstByteTimeout: number },
): Promise<FrontDoor> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  checkListenHost(host, options.allowAllInterfaces ?? false);
  const protocol = options.protocol ?? options.defaultProtocol;
  const firstByteTimeout = options.firstByteTimeout ?? options.defaultFirstByteTimeout;
  const dialTimeout = options.dialTimeout ?? 2000;
  const holdLimit = options.holdLimit ?? DEFAULT_HOLD_LIMIT;
  const drainTimeout = options.drainTimeout ?? 5000;
  // How long one side may take to flush after the other has closed.
  const lingerMs = 30_000;
  const live = new Map<number, { info: FrontDoorConnection; sockets: Set<net.Socket | Duplex> }>();
  let nextId = 1;
  let closing: Promise<void> | undefined;

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    if (closing) {
      client.destroy();
      return;
    }
    const info: FrontDoorConnection = {
      id: nextId++,
      client: `${client.remoteAddress}:${client.remotePort}`,
      bytesIn: 0,
      bytesOut: 0,
      openedAt: Date.now(),
      attempts: 0,
    };
    const entry = { info, sockets: new Set<net.Socket | Duplex>([client]) };
    live.set(info.id, entry);
    client.once('close', () => live.delete(info.id));
    void carry(client, entry).catch((error: unknown) => {
      client.destroy();
      manager.reportRefused(`internal error: ${errorMessage(error)}`, info.client);
    });
  });

  /** Try each healthy path in order until one carries the connection. */
  async function carry(
    client: net.Socket,
    entry: { info: FrontDoorConnection; sockets: Set<net.Socket | Duplex> },
  ): Promise<void> {
    client.on('error', () => client.destroy());
    const held: Buffer[] = [];
    let heldBytes = 0;
    const hold = (chunk: Buffer) => {
      held.push(chunk);
      heldBytes += chunk.length;
      // Bounded: stop reading the client until a path has proven itself.
      if (heldBytes >= holdLimit) client.pause();
    };
    client.on('data', hold);
    const clientGone = new AbortController();
    client.once('close', () => clientGone.abort(new TunnelmuxError('the client went away')));

    const tried = new Set<string>();
    const reasons: string[] = [];
    for (;;) {
      if (clientGone.signal.aborted) return;
      const route = manager
        .routes()
        .find((candidate) => candidate.healthy && !tried.has(candidate.runner.id));
      if (!route) break;
      const runner = route.runner;
      tried.add(runner.id);
      entry.info.attempts += 1;
      const upstream = await dialThrough(runner, clientGone.signal).catch((error: unknown) => {
        if (!clientGone.signal.aborted) {
          const reason = `dial failed: ${errorMessage(error)}`;
          reasons.push(`${runner.id}: ${reason}`);
          manager.reportDialFailure(runner.id, reason);
        }
        return undefined;
      });
      if (!upstream) continue;
      entry.sockets.add(upstream);
      upstream.on('error', () => upstream.destroy());
      let first: Buffer | undefined;
      if (protocol === 'ssh') {
        const wait = deadline(firstByteTimeout, clientGone.signal);
        try {
          first = Buffer.from(await firstBytes(upstream, wait.signal), 'latin1');
        } catch (error) {
          upstream.destroy();
          entry.sockets.delete(upstream);
          if (clientGone.signal.aborted) return;
          const reason = `no first byte within ${firstByteTimeout} ms (${errorMessage(error)})`;
          reasons.push(`${runner.id}: ${reason}`);
          manager.reportDialFailure(runner.id, reason);
          continue;
        } finally {
          wait.done();
        }
      }
      client.off('data', hold);
      splice(client, upstream, runner, entry.info, first, held);
      return;
    }
    const why =
      reasons.length > 0
        ? `every healthy path failed (${reasons.join('; ')})`
        : `no healthy path (${describePaths(manager)})`;
    manager.reportRefused(why, entry.info.client);
    client.destroy();
  }

  async function dialThrough(runner: PathRunner, clientGone: AbortSignal): Promise<Duplex> {
    const tunnel = runner.tunnel;
    if (!tunnel) throw new TunnelmuxError(`path "${runner.id}" has no open tunnel`);
    const wait = deadline(dialTimeout, clientGone);
    try {
      return await tunnel.dial(wait.signal);
    } finally {
      wait.done();
    }
  }

  /** Join client and path both ways with back-pressure, counting bytes per path and connection. */
  function splice(
    client: net.Socket,
    upstream: Duplex,
    runner: PathRunner,
    info: FrontDoorConnection,
    first: Buffer | undefined,
    held: Buffer[],
  ): void {
    info.pathId = runner.id;
    runner.activeConnections += 1;
    runner.totalConnections += 1;
    runner.lastActive = Date.now();
    const countIn = (chunk: Buffer) => {
      info.bytesIn += chunk.length;
      runner.bytesIn += chunk.length;
    };
    const countOut = (chunk: Buffer) => {
      info.bytesOut += chunk.length;
      runner.bytesOut += chunk.length;
    };
    if (first) {
      countIn(first);
      client.write(first);
    }
    for (const chunk of held) {
      countOut(chunk);
      upstream.write(chunk);
    }
    upstream.on('data', countIn);
    client.on('data', countOut);
    upstream.pipe(client);
    client.pipe(upstream);
    client.resume();
    upstream.resume();
    let finished = false;
    const done = (other: Duplex) => (hadError?: boolean) => {
      if (!finished) {
        finished = true;
        runner.activeConnections -= 1;
        runner.lastActive = Date.now();
      }
      // An error cuts both ways at once; a clean close lets what is queued for the other side flush first.
      if (hadError === true) other.destroy();
      else closeAfterFlush(other, lingerMs);
    };
    client.once('close', done(upstream));
    upstream.once('close', done(client));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, port)));
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
  server.on('error', (error) =>
    manager.emit({ type: 'warning', message: `front door: ${errorMessage(error)}` }),
  );
  const bound = server.address() as net.AddressInfo;
  const address = { host: bound.address, port: bound.port };
  if (!isLoopback(host)) {
    manager.emit({
      type: 'warning',
      message: `front door listens on ${formatTarget(address)}: reachable from the network, not only this machine`,
    });
  }

  const door: FrontDoor = {
    address,
    connections: () => [...live.values()].map(({ info }) => ({ ...info })),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const deadline = Date.now() + drainTimeout;
        while (live.size > 0 && Date.now() < deadline) {
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(50, Math.max(1, deadline - Date.now()))),
          );
        }
        const gone = [...live.values()].flatMap(({ sockets }) =>
          [...sockets].map(
            (socket) =>
              new Promise((resolve) =>
                socket.destroyed ? resolve(undefined) : socket.once('close', resolve),
              ),
          ),
        );
        for (const { sockets } of live.values()) for (const socket of sockets) socket.destroy();
        // Wait for the cut sockets to report closed, so counters are settled when close() resolves.
        await Promise.race([Promise.all(gone), new Promise((resolve) => setTimeout(resolve, 1000))]);
        await stopped;
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return door.close();
    },
  };
  return door;
}

/** End a stream once its queued writes are out, and destroy it at the latest after `lingerMs`. */
function closeAfterFlush(stream: Duplex, lingerMs: number): void {
  if (stream.destroyed) return;
  const timer = setTimeout(() => stream.destroy(), lingerMs);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
  stream.end();
  if (stream.writableFinished) stream.destroy();
  else stream.once('finish', () => stream.destroy());
}

function describePaths(manager: Manager): string {
  const paths = manager.list();
  if (paths.length === 0) return 'no path is configured';
  return paths.map((path) => `${path.id} ${path.state}`).join(', ');
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): TunnelmuxError {
  const where = formatTarget({ host, port });
  if (error.code === 'EADDRINUSE') {
    return new TunnelmuxError(
      `front door cannot listen on ${where}: the port is in use; see who holds it with \`ss -ltnp 'sport = :${port}'\`, stop it or pick another port`,
      { cause: error, fatal: true, code: 'ERR_PORT_IN_USE' },
    );
  }
  if (error.code === 'EACCES') {
    return new TunnelmuxError(
      `front door may not listen on ${where}: permission denied; use a port above 1023`,
      {
        cause: error,
        fatal: true,
        code: 'ERR_PORT_DENIED',
      },
    );
  }
  return new TunnelmuxError(`front door cannot listen on ${where}: ${error.message}`, {
    cause: error,
    fatal: true,
  });
}
