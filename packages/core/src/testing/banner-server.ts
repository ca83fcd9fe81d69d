import net from 'node:net';
import type { Target } from '../provider/types';

/** A loopback SSH-like target: sends a banner, then echoes. */
export interface BannerServer extends Target {
  banner: string;
  close(): Promise<void>;
}

export async function startBannerServer(banner = 'SSH-2.0-tunnelmux-contract\r\n'): Promise<BannerServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write(banner);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port: address.port,
    banner,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
