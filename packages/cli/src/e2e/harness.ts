import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The built CLI: these tests run what users run. */
export const BIN = path.resolve(here, '../../dist/bin.js');
/** testkit's local stand-in provider, loaded the way a user's own module would be (`plugins:`). */
export const LOCAL_PLUGIN = path.join(here, 'fixtures', 'local-provider.js');

/** A throwaway folder with these files (short path: unix socket paths are limited to 107 bytes). */
export function testdir(files: Record<string, string> = {}): {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
} {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  mkdirSync(path.join(dir, 'run'), { recursive: true, mode: 0o700 });
  const env = {
    ...process.env,
    XDG_RUNTIME_DIR: path.join(dir, 'run'),
    TUNNELMUX_HOME: path.join(dir, 'home'),
    NO_COLOR: '1',
  };
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Run the CLI to completion. */
export function cli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeout?: number }) {
  return execa(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    reject: false,
    timeout: options.timeout ?? 30_000,
    stdin: 'ignore',
  });
}

/** A config using the local stand-in provider for every path. */
export function localConfig(target: { host: string; port: number }, ids: string[], extra = ''): string {
  return [
    'name: t',
    'listen: 127.0.0.1:0',
    `target: ${target.host}:${target.port}`,
    'protocol: ssh',
    `plugins: [${JSON.stringify(LOCAL_PLUGIN)}]`,
    // Generous probe limits: other test suites load this 2-core machine, and a slow probe must not read as a fault.
    'failover: { interval: 300ms, timeout: 5s, maxLatency: 5s, fall: 2, rise: 2, minDwell: 500ms }',
    'paths:',
    ...ids.map((id, index) => `  - { id: ${id}, provider: local, priority: ${index + 1} }`),
    extra,
  ].join('\n');
}

/** What `up --json` says once it is ready. */
export interface Ready {
  type: 'ready';
  pid: number;
  socket: string;
  listen?: string;
  primary?: string;
  paths: { id: string; state: string; pid?: number }[];
}

/** A running `tunnelmux up --json`, with its NDJSON lines. */
export interface Running {
  process: ResultPromise;
  ready: Ready;
  lines: Record<string, unknown>[];
  /** Resolve with the first line (seen or to come) that matches. */
  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

/** The NDJSON lines of `text` (a finished command's --json output), blank lines skipped. */
export function ndjson(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** What a running `up --json` has said so far: its NDJSON lines, its stderr's tail, and whether it has exited. */
export interface UpOutput extends Pick<Running, 'lines' | 'waitFor'> {
  readonly exited: boolean;
  /** The last 4,000 characters of stderr. */
  stderr(): string;
}

/** Read `up --json`'s stdout line by line as it comes, for `waitFor` (bounded) and `lines`. */
export function readUpOutput(child: ResultPromise): UpOutput {
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<{
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }>();
  let rest = '';
  let stderr = '';
  let exited = false;
  void child.finally(() => {
    exited = true;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    // A tail is enough for error messages, and stays bounded when a test makes up write a lot.
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    // Whole lines only: a line split across chunks waits in `rest` for its end.
    const end = rest.lastIndexOf('\n');
    const complete = rest.slice(0, end + 1);
    rest = rest.slice(end + 1);
    for (const line of ndjson(complete)) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  const waitFor = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000) => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const waiter = { match, resolve };
      waiters.add(waiter);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no line matching ${match} within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
      }, timeoutMs);
      void child.finally(() => {
        clearTimeout(timer);
        if (waiters.delete(waiter)) {
          reject(
            new Error(
              `up exited before a line matching ${match}; stdout: ${JSON.stringify(lines.slice(-5))}; stderr: ${stderr.slice(-2000)}`,
            ),
          );
        }
      });
      waiter.resolve = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  };
  return {
    lines,
    waitFor,
    get exited() {
      return exited;
    },
    stderr: () => stderr,
  };
}

/**
 * Start the CLI without waiting for it to end, its output streamed rather than kept; `shell`, if given, runs first
 * in the same bash process (e.g. `ulimit -n 256`), which then becomes the CLI.
 */
export function spawnCli(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; shell?: string },
): ResultPromise {
  const [file, argv] =
    options.shell === undefined
      ? [process.execPath, [BIN, ...args]]
      : ['bash', ['-c', `${options.shell}; exec "$0" "$@"`, process.execPath, BIN, ...args]];
  return execa(file, argv, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    buffer: false,
    // The tests judge how the CLI stops: execa must not SIGKILL it 5 s into a SIGTERM (its default).
    forceKillAfterDelay: false,
  });
}

/** Start `up --json` and wait (bounded) for its ready line. */
export async function startUp(
  cwd: string,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
  command: string[] = ['up'],
): Promise<Running> {
  const child = spawnCli([...command, '--json', ...args], { cwd, env });
  const { lines, waitFor } = readUpOutput(child);
  const ready = (await waitFor((line) => line.type === 'ready', 30_000)) as unknown as Ready;
  return { process: child, ready, lines, waitFor };
}

/** Poll `check` until it is true or the time is up; returns the last result. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  everyMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A loopback echo target (half-close passes through) that counts what it accepted; close() ends every socket. */
export async function startEchoServer(): Promise<{
  port: number;
  readonly accepted: number;
  close(): Promise<void>;
}> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A connected socket to `host:port` that keeps its writable side open after the peer ends. */
export function connectTo(address: string): Promise<net.Socket> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port), allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}
