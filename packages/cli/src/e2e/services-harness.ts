import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { cli, connectTo, LOCAL_PLUGIN } from './harness';

/** One service of a test config: its paths (ids of local stand-in paths, priority = position) and extras. */
export interface TestService {
  paths: string[];
  /** Extra `failover:` fields for this service, e.g. `{ fall: 4 }`. */
  failover?: Record<string, string | number>;
  listen?: string;
  /** Paths of `paths` to leave out while keeping the others' priorities (so they do not count as changed). */
  without?: string[];
  /** Extra text inside a path's `{ ... }`, by path id (e.g. `options: { readyTimeoutMs: 9000 }`). */
  extra?: Record<string, string>;
}

/** A `services:` config over testkit's local stand-in provider, every service leading to `targetPort`. */
export function servicesConfig(
  targetPort: number,
  services: Record<string, TestService>,
  drain = '3s',
): string {
  const lines = [
    'name: t',
    `plugins: [${JSON.stringify(LOCAL_PLUGIN)}]`,
    // Generous probe limits: other suites load this machine, and a slow probe must not read as a fault.
    'failover: { interval: 300ms, timeout: 5s, maxLatency: 5s, fall: 2, rise: 2, minDwell: 500ms }',
    `drain: ${drain}`,
    'services:',
  ];
  for (const [name, service] of Object.entries(services)) {
    lines.push(
      `  ${name}:`,
      `    listen: ${service.listen ?? '127.0.0.1:0'}`,
      `    target: 127.0.0.1:${targetPort}`,
      '    protocol: tcp',
    );
    if (service.failover) {
      const fields = Object.entries(service.failover).map(([key, value]) => `${key}: ${value}`);
      lines.push(`    failover: { ${fields.join(', ')} }`);
    }
    lines.push('    paths:');
    // Explicit priorities: removing one path must not renumber (and so replace) the others.
    service.paths.forEach((id, index) => {
      if (!service.without?.includes(id))
        lines.push(
          `      - { id: ${id}, provider: local, priority: ${index + 1}${service.extra?.[id] ? `, ${service.extra[id]}` : ''} }`,
        );
    });
  }
  return `${lines.join('\n')}\n`;
}

/** What `status --json` says about each service. */
export interface ServicesStatus {
  primary?: string;
  paths?: { id: string; state: string; pid?: number }[];
  services: {
    name: string;
    listen?: string;
    primary?: string;
    autoFailover: boolean;
    paths: { id: string; state: string; pid?: number; activeConnections?: number }[];
  }[];
}

/** `status --json` of the instance in `cwd`. */
export async function servicesStatus(work: { dir: string; env: NodeJS.ProcessEnv }): Promise<ServicesStatus> {
  const result = await cli(['status', '--json'], { cwd: work.dir, env: work.env });
  if (result.exitCode !== 0) throw new Error(`status failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ServicesStatus;
}

/** A client that streams random bytes through an echo target and hashes both directions until `finish()`. */
export async function startEchoStream(address: string): Promise<{
  readonly sentBytes: number;
  readonly gotBytes: number;
  finish(): Promise<{ sent: string; got: string; sentBytes: number; gotBytes: number; error?: Error }>;
}> {
  const socket: net.Socket = await connectTo(address);
  const sent = createHash('sha256');
  const got = createHash('sha256');
  let sentBytes = 0;
  let gotBytes = 0;
  let error: Error | undefined;
  let writing = true;
  socket.on('data', (chunk: Buffer) => {
    got.update(chunk);
    gotBytes += chunk.length;
  });
  socket.on('error', (e) => {
    error = e;
  });
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const pump = (async () => {
    while (writing && !error && !socket.destroyed) {
      const chunk = randomBytes(8 * 1024);
      sent.update(chunk);
      sentBytes += chunk.length;
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
      // Pacing, so the stream spans the reloads instead of filling buffers in one go.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    get sentBytes() {
      return sentBytes;
    },
    get gotBytes() {
      return gotBytes;
    },
    async finish() {
      writing = false;
      await pump;
      socket.end();
      // The echo target ends its side once ours has ended and everything was echoed; bounded by the test timeout.
      await ended;
      return { sent: sent.digest('hex'), got: got.digest('hex'), sentBytes, gotBytes, error };
    },
  };
}

/** A loopback port that was free a moment ago (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Connect, send a line, read it back, close; resolves true when the echo came back whole. */
export async function echoOnce(address: string, timeoutMs = 10_000): Promise<boolean> {
  let socket: net.Socket | undefined;
  try {
    socket = await connectTo(address);
    const client = socket;
    const line = `ping ${Math.random()}\n`;
    return await new Promise<boolean>((resolve) => {
      let text = '';
      const timer = setTimeout(() => resolve(false), timeoutMs);
      client.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text === line) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      client.on('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      client.on('close', () => {
        clearTimeout(timer);
        resolve(text === line);
      });
      client.write(line);
    });
  } catch {
    return false;
  } finally {
    socket?.destroy();
  }
}
