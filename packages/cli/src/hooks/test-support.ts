import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { TunnelmuxEvent } from '@tunnelmux/core';

/** A loopback HTTP server that answers each POST with the next status of `statuses` (the last one repeats). */
export async function webhookServer(statuses: number[]) {
  const requests: { headers: http.IncomingHttpHeaders; body: string; url: string }[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      requests.push({ headers: request.headers, body, url: request.url ?? '' });
      response.statusCode = statuses[Math.min(requests.length - 1, statuses.length - 1)] ?? 200;
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let seq = 0;
/** A path event as the manager emits it. */
export function pathEvent(
  type: 'connected' | 'disconnected',
  pathId = 'cf',
  extra: Record<string, unknown> = {},
): TunnelmuxEvent {
  const base = { time: Date.now(), seq: ++seq, pathId, provider: 'cloudflare' };
  return (
    type === 'connected'
      ? { ...base, type, endpoint: '127.0.0.1:4000', ...extra }
      : { ...base, type, reason: 'process exited', ...extra }
  ) as TunnelmuxEvent;
}

/** True while a process with this pid runs; a zombie (dead, not yet reaped by init) does not count. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Linux: the state follows the command name in parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
