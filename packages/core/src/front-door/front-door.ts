import net from 'node:net';
import type { Duplex } from 'node:stream';
import { DeadlineList } from '../async/deadline-list';
import { monotonicNow } from '../async/monotonic';
import { sleep } from '../async/sleep';
import { type Linked, LinkedList } from '../collections/linked-list';
import { errorMessage, TunnelmuxError } from '../errors';
import { DescriptorBudget, type DescriptorSource } from '../net/descriptor-budget';
import { isOutOfDescriptors } from '../net/local-exhaustion';
import { formatTarget } from '../net/tcp';
import { BurstWarning } from './burst-warning';
import {
  Connecting,
  type ConnectResult,
  type ConnectSink,
  destroyStream,
  OUT_OF_DESCRIPTORS,
} from './connect';
import { ConnectionInfo, type FrontDoorConnection } from './connection-info';
import { checkListenHost, isLoopback } from './listen-address';
import type { Route, RouteSource } from './route-source';
import { splice } from './splice';

export type { FrontDoorConnection } from './connection-info';

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

/** The stable local port in front of every path. */
export interface FrontDoor extends AsyncDisposable {
  readonly address: { host: string; port: number };
  connections(): FrontDoorConnection[];
  /** Whether the door still accepts new connections. */
  readonly accepting: boolean;
  /**
   * Stop accepting new connections (the port is released) while live ones keep running: a rebind opens the new
   * door first, then stops the old one. Resolves once the port is released.
   */
  stopAccepting(): Promise<void>;
  /** Stop accepting, drain up to `drainTimeout` (default: the door's option), then cut what is left. */
  close(options?: { drainTimeout?: number }): Promise<void>;
}

const DEFAULT_HOLD_LIMIT = 64 * 1024;
// One reason for every client that leaves: an Error per connection would capture a stack trace per close.
const CLIENT_GONE = new TunnelmuxError('the client went away');
// How long one side may take to flush after the other has closed.
const LINGER_MS = 30_000;

/** How a carrier should treat each client, resolved from the options and the manager's defaults. */
export interface CarrySettings {
  protocol: 'ssh' | 'tcp';
  firstByteTimeout: number;
  dialTimeout: number;
  holdLimit: number;
  lingerMs: number;
  /** A client turned away because this process is out of file descriptors: said once per burst, not per client. */
  outOfDescriptors?: () => void;
  /** Where the default carrier's dial and first-byte limits wait (one timer per door); a timer each without. */
  deadlines?: DeadlineList;
}

/** One accepted client, as a carrier sees it. */
export interface ClientConnection {
  readonly socket: net.Socket;
  /** Its status entry; a carrier fills in `pathId`, `attempts` and `heldBytes`, and says where bytes are counted. */
  readonly info: ConnectionInfo;
  /** Aborts when the client goes away. */
  readonly signal: AbortSignal;
  /** A stream the front door must cut if it closes before the stream ends (a dialled path). */
  track(stream: Duplex): void;
}

/**
 * What the front door does with each client: the per-connection seam. The default holds the client's first
 * bytes, dials with failover and splices; a session layer can supply its own and reuse `connectWithFailover`.
 */
export type Carrier = (
  client: ClientConnection,
  source: RouteSource,
  settings: CarrySettings,
) => Promise<void>;

/** Listen on a loopback port and carry each client connection through the best healthy route of `source`. */
export async function openFrontDoor(
  source: RouteSource,
  options: FrontDoorOptions & {
    defaultProtocol: 'ssh' | 'tcp';
    /** A function follows the manager's failover settings as they are reconfigured. */
    defaultFirstByteTimeout: number | (() => number);
    carrier?: Carrier;
    /** Where the descriptor limit and count are read (tests); /proc by default. */
    descriptors?: DescriptorSource;
  },
): Promise<FrontDoor> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  checkListenHost(host, options.allowAllInterfaces ?? false);
  const fallbackFirstByte = options.defaultFirstByteTimeout;
  const settings: CarrySettings = {
    protocol: options.protocol ?? options.defaultProtocol,
    get firstByteTimeout() {
      return (
        options.firstByteTimeout ??
        (typeof fallbackFirstByte === 'function' ? fallbackFirstByte() : fallbackFirstByte)
      );
    },
    dialTimeout: options.dialTimeout ?? 2000,
    holdLimit: options.holdLimit ?? DEFAULT_HOLD_LIMIT,
    lingerMs: LINGER_MS,
    deadlines: new DeadlineList(),
  };
  // Out of file descriptors, accept() and dials fail for every client at once: one warning per burst.
  const exhausted = new BurstWarning(
    (message) => source.warn(message),
    () =>
      'front door: out of file descriptors (EMFILE): refusing new clients until some close; raise the limit (ulimit -n) if this recurs',
    (count) => `front door: serving again after turning away ${count} client(s) for lack of file descriptors`,
    1000,
    // Still holding as many clients as the budget allows: not serving again yet.
    () => server.maxConnections !== undefined && live.size >= server.maxConnections,
  );
  settings.outOfDescriptors = () => exhausted.hit();
  const budget = new DescriptorBudget(options.descriptors);
  const carrier = options.carrier;
  const drainTimeout = options.drainTimeout ?? 5000;
  // Live clients, newest last, linked through the clients themselves: no table to grow and shrink per client.
  const live = new LinkedList<Client>();
  let nextId = 1;
  let closing: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    // A client accepted just before stopAccepting() is still served; only close() turns clients away.
    if (closing) {
      socket.destroy();
      return;
    }
    const client = new Client(socket, nextId++, live);
    if (carrier) {
      client.watch();
      carrier(client, source, settings).catch((error: unknown) => client.internalError(source, error));
    } else {
      // The dial starts here, in this turn. Net connects on the next tick: what the dial does not need waits
      // for the tick after that, so the connect goes out first.
      const carry = new Carry(client, source, settings);
      carry.start();
      process.nextTick(afterDial, client, carry);
    }
    // Every 16th client, so a limit lowered while running is followed before a burst can exhaust it; after
    // the dial's own tick, as reading /proc costs more than the rest of the accept.
    if (client.info.id % 16 === 0) process.nextTick(capConnections);
  });

  // Past the descriptor budget Node turns a client away itself ('drop'): counted in the same warning.
  const capConnections = () => {
    const cap = budget.cap(live.size);
    if (cap !== undefined) server.maxConnections = cap;
  };
  capConnections();
  server.on('drop', () => exhausted.hit());

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, port)));
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
  server.on('error', (error) => {
    if (isOutOfDescriptors(error)) exhausted.hit();
    else source.warn(`front door: ${errorMessage(error)}`);
  });
  const bound = server.address() as net.AddressInfo;
  const address = { host: bound.address, port: bound.port };
  if (!isLoopback(host)) {
    source.warn(
      `front door listens on ${formatTarget(address)}: reachable from the network, not only this machine`,
    );
  }

  const door: FrontDoor = {
    address,
    connections: () => live.toArray().map(({ info }) => info.snapshot()),
    get accepting() {
      // close() stops accepting first thing, so `stopped` covers it too.
      return stopped === undefined;
    },
    async stopAccepting() {
      // server.close() releases the port at once but calls back only after the last accepted socket is gone.
      stopped ??= new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise((resolve) => setImmediate(resolve));
    },
    close(closeOptions = {}) {
      closing ??= (async () => {
        exhausted.end();
        await door.stopAccepting();
        const deadline = monotonicNow() + (closeOptions.drainTimeout ?? drainTimeout);
        while (live.size > 0 && monotonicNow() < deadline) {
          await sleep(Math.min(50, Math.max(1, deadline - monotonicNow())));
        }
        const clients = live.toArray();
        const gone = clients.flatMap((client) =>
          client
            .streams()
            .map(
              (socket) =>
                new Promise((resolve) =>
                  socket.destroyed ? resolve(undefined) : socket.once('close', resolve),
                ),
            ),
        );
        for (const client of clients) for (const socket of client.streams()) socket.destroy();
        // Wait for the cut sockets to report closed, so counters are settled when close() resolves.
        const settled = new AbortController();
        await Promise.race([Promise.all(gone), sleep(1000, settled.signal)]);
        settled.abort();
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

/**
 * The default carrier: hold the client's bytes (bounded by `holdLimit`), reach a path with connect-retry and
 * (ssh) first-byte failover, then replay the held bytes and splice; refuse with every reason when none answers.
 */
export function carryWithFailover(
  client: ClientConnection,
  source: RouteSource,
  settings: CarrySettings,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const carry = new Carry(client, source, settings, { resolve, reject });
    carry.start();
    carry.holdClientBytes();
  });
}

// Shared by every client: an emitter calls its listeners with itself as `this`, so this is no closure.
function clientClosed(this: net.Socket & { [kClient]?: Client }): void {
  this[kClient]?.closed();
}
const kClient = Symbol('tunnelmux.frontDoorClient');

/** The rest of a client's set-up, once its dial is under way (nothing can arrive from it before this runs). */
function afterDial(client: Client, carry: Carry): void {
  client.watch();
  carry.holdClientBytes();
}

/** One accepted client: its status, its streams, and (made only when a carrier asks) its abort signal. */
class Client implements ClientConnection, Linked<Client> {
  readonly info: ConnectionInfo;
  linkPrev: Client | undefined;
  linkNext: Client | undefined;
  /** Told at once when the client leaves (the default carrier's connect), without an AbortSignal. */
  connecting: Connecting | undefined;
  isClosed = false;
  private controller: AbortController | undefined;
  // Streams to cut with the client when the door closes; `socket` is always one of them.
  private tracked: Duplex[] | undefined;

  constructor(
    readonly socket: net.Socket & { [kClient]?: Client },
    id: number,
    private readonly list: LinkedList<Client>,
  ) {
    this.info = new ConnectionInfo(id, socket);
    list.add(this);
    socket[kClient] = this;
  }

  /** Listen for the client's end (and errors); a client already cut (refused at once) is gone now. */
  watch(): void {
    const { socket } = this;
    socket.on('error', destroyStream);
    socket.on('close', clientClosed);
    // Its 'close' may have been emitted before anyone listened: closed() is idempotent either way.
    if (socket.destroyed) this.closed();
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.isClosed) this.controller.abort(CLIENT_GONE);
    }
    return this.controller.signal;
  }

  track(stream: Duplex): void {
    // Streams that ended already need no cutting: drop them, so a long session's resumes do not pile up.
    this.tracked = this.tracked?.filter((s) => !s.destroyed) ?? [];
    this.tracked.push(stream);
  }

  streams(): Duplex[] {
    return this.tracked ? [this.socket, ...this.tracked] : [this.socket];
  }

  closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.list.remove(this);
    this.socket[kClient] = undefined;
    this.connecting?.clientGone(CLIENT_GONE);
    this.connecting = undefined;
    this.controller?.abort(CLIENT_GONE);
  }

  /** A carrier threw: close the client and say why. */
  internalError(source: RouteSource, error: unknown): void {
    const address = this.info.client;
    this.socket.destroy();
    source.refused(`internal error: ${errorMessage(error)}`, address);
  }
}

/** One client through the default carrier: hold its bytes, connect with failover, then splice. */
class Carry implements ConnectSink {
  private held: Buffer[] | undefined;
  private waiting = true;
  // Only for a client that is not the door's own (a wrapping carrier's): stop watching its signal.
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly client: ClientConnection,
    private readonly source: RouteSource,
    private readonly settings: CarrySettings,
    // Set when a carrier awaits this one; otherwise errors are the door's to report.
    private readonly outcome?: { resolve(): void; reject(error: unknown): void },
  ) {}

  start(): void {
    const { client, settings } = this;
    // The settings are the options as they are: no copy per client.
    const connecting = new Connecting(this.source, settings, this, client.info);
    if (client instanceof Client) {
      if (client.isClosed) {
        this.connected({ reasons: [] });
        return;
      }
      client.connecting = connecting;
    } else {
      const { signal } = client;
      if (signal.aborted) {
        this.connected({ reasons: [] });
        return;
      }
      const onAbort = () => connecting.clientGone(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.unwatch = () => signal.removeEventListener('abort', onAbort);
    }
    connecting.start();
  }

  /** Hold what the client sends until a path has answered (not needed for the dial, so after it). */
  holdClientBytes(): void {
    if (this.waiting) this.client.socket.on('data', this.hold);
  }

  private readonly hold = (chunk: Buffer): void => {
    const { info, socket } = this.client;
    this.held ??= [];
    this.held.push(chunk);
    info.heldBytes += chunk.length;
    // Bounded: stop reading the client until a path has proven itself.
    if (info.heldBytes >= this.settings.holdLimit) socket.pause();
  };

  private gone(): boolean {
    const { client } = this;
    return client instanceof Client ? client.isClosed : client.signal.aborted;
  }

  connected({ connected, reasons }: ConnectResult): void {
    const { client, source, settings } = this;
    const { socket, info } = client;
    this.waiting = false;
    if (client instanceof Client) client.connecting = undefined;
    this.unwatch?.();
    try {
      if (this.gone()) {
        connected?.stream.destroy();
        this.outcome?.resolve();
        return;
      }
      if (!connected && reasons.some((reason) => reason.startsWith(OUT_OF_DESCRIPTORS))) {
        settings.outOfDescriptors?.();
        socket.destroy();
        this.outcome?.resolve();
        return;
      }
      if (!connected) {
        const why =
          reasons.length > 0
            ? `every healthy path failed (${reasons.join('; ')})`
            : `no healthy path (${source.describe()})`;
        source.refused(why, info.client);
        socket.destroy();
        this.outcome?.resolve();
        return;
      }
      // The path's first bytes go to the client before any bookkeeping: they are what the client waits for.
      const { first } = connected;
      if (first) socket.write(first);
      socket.off('data', this.hold);
      client.track(connected.stream);
      info.pathId = connected.route.id;
      info.heldBytes = 0;
      const { stream } = connected;
      splice(socket, stream, {
        meter: carry(source, connected.route, () => {
          socket.destroy();
          stream.destroy();
        }),
        counts: info,
        held: this.held ?? NOTHING_HELD,
        lingerMs: settings.lingerMs,
      });
      this.outcome?.resolve();
    } catch (error) {
      this.connectFailed(error);
    }
  }

  connectFailed(error: unknown): void {
    if (this.outcome) {
      this.outcome.reject(error);
      return;
    }
    (this.client as Client).internalError(this.source, error);
  }
}

const NOTHING_HELD: readonly Buffer[] = [];

/** The meter of a carried connection, from its route when the route can count it itself. */
function carry(source: RouteSource, route: Route, cut: () => void) {
  return route.carry ? route.carry(cut) : source.carried(route.id, cut);
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
