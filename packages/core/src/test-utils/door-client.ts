import net from 'node:net';

/**
 * A client of a front door under test: connected, keeping what it reads as latin1 text, closed by `cleanups`.
 * Bounded: it gives up after 15 s without traffic.
 */
export async function doorClient(
  port: number,
  cleanups: Array<() => Promise<unknown>>,
  options: { allowHalfOpen?: boolean } = {},
) {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: options.allowHalfOpen ?? false });
  cleanups.push(async () => socket.destroy());
  socket.setTimeout(15_000, () => socket.destroy(new Error('client timed out')));
  socket.on('error', () => undefined);
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, closed, received: () => received, localPort: socket.localPort };
}
