// Prometheus over HTTP for `up --metrics-listen` and `relay --metrics-listen`: GET /metrics, nothing else.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatAddress } from './address';
import { messageOf } from './errors';

/** Serve `render()` at GET /metrics on `at`; resolves once listening, rejects when the address is taken. */
export async function serveMetrics(
  render: () => Promise<string>,
  contentType: string,
  at: { host: string; port: number },
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    render().then(
      (text) => res.writeHead(200, { 'content-type': contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${messageOf(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** `host:port` a server listens on. */
export function serverAddress(server: http.Server): string {
  const address = server.address() as AddressInfo;
  return formatAddress({ host: address.address, port: address.port });
}

/** Close a server and its open connections; resolves when it is closed. */
export function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
