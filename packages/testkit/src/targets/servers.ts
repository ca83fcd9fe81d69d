import net from 'node:net';

/** A loopback TCP server a test can count and close. */
export interface TargetServer {
  host: '127.0.0.1';
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections open right now. */
  readonly active: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** An SSH-like target that also counts connections. */
export interface BannerTarget extends TargetServer {
  banner: string;
}

async function serve(onSocket: (socket: net.Socket) => void): Promise<TargetServer> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    onSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
    return closing;
  };
  return {
    host: '127.0.0.1',
    port,
    get connections() {
      return connections;
    },
    get active() {
      return sockets.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A loopback echo server: every byte comes back. */
export function startEchoServer(): Promise<TargetServer> {
  return serve((socket) => socket.pipe(socket));
}

/**
 * A loopback SSH-like target: sends `banner` first (server speaks first, like sshd), then echoes.
 * Counts connections, so a test can see traffic actually reached the far side.
 */
export async function startBannerTarget(banner = 'SSH-2.0-tunnelmux-testkit\r\n'): Promise<BannerTarget> {
  const server = await serve((socket) => {
    socket.write(banner);
    socket.pipe(socket);
  });
  return Object.defineProperties(server, { banner: { value: banner, enumerable: true } }) as BannerTarget;
}

/** A free TCP port on 127.0.0.1 (it may be taken by the time it is used; bind to 0 when you can). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Connect to `host:port` and resolve with the first bytes the server sends (its banner). */
export function readBanner(
  port: number,
  options: { host?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host ?? '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no banner from ${options.host ?? '127.0.0.1'}:${port} within ${options.timeoutMs ?? 2000} ms`,
        ),
      );
    }, options.timeoutMs ?? 2000);
    socket.once('data', (chunk) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(chunk.toString('latin1'));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`${options.host ?? '127.0.0.1'}:${port} closed before sending a banner`));
    });
  });
}
