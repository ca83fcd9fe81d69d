// Test helpers for sessions over real 127.0.0.1 sockets: a target, paths that can die, a front door stand-in.
import net from 'node:net';
import type { Target } from '../provider/types';
import {
  type ClientSessionEvent,
  type ResumableSession,
  type ResumableSessionOptions,
  resumableSession,
} from './client';

/** An echo target that counts connections and remembers them (to see them closed). */
export async function echoTarget() {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    target: { host: '127.0.0.1', port } as Target,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A path to `to`: a TCP forwarder that can be killed (connections reset) or black-holed (silent, open). */
export async function killablePath(name: string, to: Target) {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let blackhole = false;
  let down = false;
  const record: Buffer[] = [];
  const server = net.createServer((inbound) => {
    if (down) return inbound.destroy();
    const outbound = net.connect({ host: to.host, port: to.port });
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    pairs.add(pair);
    const close = () => {
      // A black hole swallows everything, the end of a connection included.
      if (blackhole) return;
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    for (const s of pair) {
      s.on('error', close);
      s.on('close', close);
    }
    inbound.on('data', (chunk: Buffer) => {
      record.push(chunk);
      if (!blackhole) outbound.write(chunk);
    });
    outbound.on('data', (chunk: Buffer) => {
      if (!blackhole) inbound.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    name,
    target: { host: '127.0.0.1', port } as Target,
    /** Every byte clients sent through this path, in order. */
    recorded: () => Buffer.concat(record),
    get connections() {
      return pairs.size;
    },
    /** The tunnel process died: every connection reset, new ones refused. */
    kill() {
      down = true;
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.destroy();
      }
      pairs.clear();
    },
    /** Forward nothing any more, but keep connections open (a black hole). */
    silence() {
      blackhole = true;
      down = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

type Path = Awaited<ReturnType<typeof killablePath>>;

/** A dial callback over paths in priority order that skips the path being left, like the front door would. */
export function dialOver(paths: Path[]): ResumableSessionOptions['dial'] {
  return async ({ avoid }) => {
    const order = [...paths.filter((p) => p.name !== avoid), ...paths.filter((p) => p.name === avoid)];
    let lastError: unknown;
    for (const path of order) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ host: path.target.host, port: path.target.port, noDelay: true });
          s.once('connect', () => {
            s.off('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        return { socket, path: path.name };
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  };
}

/** A stand-in for the front door: each accepted client is wrapped in a resumable session. */
export async function sessionDoor(options: Omit<ResumableSessionOptions, 'onEvent'>) {
  const events: ClientSessionEvent[] = [];
  const sessions: ResumableSession[] = [];
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    sessions.push(resumableSession(client, { ...options, onEvent: (event) => events.push(event) }));
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    events,
    sessions,
    connect: () =>
      new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.close('test over');
        server.close(() => resolve());
      }),
  };
}

/** Everything a socket sends until it ends. */
export function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}
