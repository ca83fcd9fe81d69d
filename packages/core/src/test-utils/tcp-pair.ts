import net from 'node:net';

/** Two ends of one 127.0.0.1 connection, and how to close them with their server. */
export interface TcpPair {
  /** The accepted end, half-open like the front door's sockets. */
  near: net.Socket;
  /** The dialling end. */
  far: net.Socket;
  close(): Promise<void>;
}

/**
 * A connected pair over 127.0.0.1, both ends half-open and with errors swallowed (tests cut them on purpose);
 * its `close` goes on `cleanups`, for the test's afterEach.
 */
export async function tcpPair(cleanups: Array<() => Promise<unknown>>): Promise<TcpPair> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const far = net.connect({
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    allowHalfOpen: true,
  });
  const near = await accepted;
  await new Promise((resolve) => (far.connecting ? far.once('connect', resolve) : resolve(undefined)));
  for (const socket of [near, far]) socket.on('error', () => undefined);
  const close = async () => {
    near.destroy();
    far.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  cleanups.push(close);
  return { near, far, close };
}
