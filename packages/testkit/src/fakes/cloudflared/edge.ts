// The fake's stand-in for Cloudflare's edge and Access: each connection the local listener accepts is carried
// here (as the real one opens a WebSocket to wss://<hostname>), checked against the Access policy and routed
// to a loopback origin. Failures are logged the way cloudflared logs them and close the client's socket.
import net from 'node:net';
import type { CloudflaredFaults, CloudflaredTarget } from './hooks';
import type { ZerologConsole } from './zerolog';

export interface EdgeOptions {
  hostname: string;
  originURL: string;
  routes: Map<string, CloudflaredTarget>;
  /** The service token the Access app demands; undefined = no Access policy in the way. */
  required?: { id: string; secret: string };
  /** The service token cloudflared was given (flags or env). */
  token: { id?: string; secret?: string };
  faults: () => CloudflaredFaults;
  log: ZerologConsole;
  /** Raw stderr writes (the login prompt is printed with fmt.Fprintf, not the logger). */
  stderr: (text: string) => void;
}

/** A loopback server standing in for the edge; returns its address for the local forwarder. */
export async function startEdge(options: EdgeOptions): Promise<{ target: CloudflaredTarget; close(): void }> {
  const sockets = new Set<net.Socket>();
  let loginShown = false;
  const fail = (socket: net.Socket, error: string, response?: string) => {
    if (response) options.log.debug(`Websocket response: ${JSON.stringify(response)}`);
    options.log.error('failed to connect to origin', { error, originURL: options.originURL });
    socket.destroy();
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const forbidden = 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n';
    if (options.faults().startup === 'auth') return fail(socket, 'websocket: bad handshake', forbidden);
    if (options.required) {
      const { id, secret } = options.token;
      if (id === undefined && secret === undefined) {
        // No service token: Access redirects to its login; cloudflared starts the browser flow and waits.
        if (!loginShown) {
          loginShown = true;
          const url =
            `${options.originURL}/cdn-cgi/access/cli?aud=fake-aud&edge_token_transfer=true` +
            `&redirect_url=${encodeURIComponent(options.originURL)}&send_org_token=true&token=fake-public-key`;
          options.stderr(
            `A browser window should have opened at the following URL:\n\n${url}\n\n` +
              'If the browser failed to open, please visit the URL above directly in your browser.\n',
          );
        }
        socket.pause();
        return;
      }
      if (id !== options.required.id || secret !== options.required.secret) {
        return fail(socket, 'websocket: bad handshake', forbidden);
      }
    }
    const route = options.routes.get(options.hostname);
    // No tunnel serves this hostname: the edge answers the upgrade with an error page.
    if (!route) return fail(socket, 'websocket: bad handshake', 'HTTP/1.1 502 Bad Gateway\r\n\r\n');
    const origin = net.connect(route);
    sockets.add(origin);
    origin.on('close', () => sockets.delete(origin));
    origin.once('error', () => {
      // The connector could not reach the origin: the edge answers 502, gorilla reports a bad handshake.
      fail(socket, 'websocket: bad handshake', 'HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
    origin.once('connect', () => {
      socket.pipe(origin);
      origin.pipe(socket);
      socket.on('close', () => origin.destroy());
      origin.on('close', () => socket.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address() as net.AddressInfo;
  return {
    target: { host: '127.0.0.1', port: address.port },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
