import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { generateKey, type KeyPair, knownHostsLine } from './keys';

/** How to start one throwaway sshd. */
export interface SshdOptions {
  /** The login user; default the user running the tests (root logs in by key only). */
  user?: string;
  /** More public keys allowed to log in, besides the generated client key. */
  authorizedKeys?: readonly string[];
  /** Extra `sshd_config` lines, appended last. */
  config?: readonly string[];
  /** The sshd executable; default `/usr/sbin/sshd`. */
  bin?: string;
  /** How long start-up may take (default 20 s). */
  startTimeoutMs?: number;
}

/** A real OpenSSH server on 127.0.0.1 with its own keys and files in a temp folder. */
export interface Sshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The user the client key logs in as. */
  readonly user: string;
  /** The temp folder holding every file below. */
  readonly dir: string;
  readonly configFile: string;
  /** The server's ed25519 public host key (`ssh-ed25519 AAAA...`). */
  readonly hostPublicKey: string;
  /** A key pair listed in `authorized_keys`. */
  readonly clientKey: KeyPair;
  /** A known_hosts file that pins this server's host key under `[127.0.0.1]:port`. */
  readonly knownHostsFile: string;
  /** The listening sshd process. */
  readonly pid: number;
  /** A known_hosts line pinning this host key under another name (e.g. a front door port). */
  knownHostsLine(host?: string, port?: number): string;
  /** What sshd printed (`-e`), newest last. */
  logs(): string[];
  /** Pids of the per-connection sshd processes (the sessions), newest connections included. */
  sessions(): Promise<number[]>;
  /** SIGSTOP every session (and the listener, when asked): the server becomes a black hole. */
  freeze(options?: { listener?: boolean }): Promise<number[]>;
  /** SIGCONT everything `freeze` stopped. */
  thaw(): Promise<void>;
  /** Stop the listener and every session, and delete the folder. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const running = new Set<number>();
let exitHookInstalled = false;

// A test run that dies must not leave sshd listening behind it.
function trackForExit(pid: number): void {
  running.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const leftover of running) {
      try {
        process.kill(leftover, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
}

/** Start a real `sshd -D -e -f <config>` on a free 127.0.0.1 port; resolves once it accepts connections. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const bin = options.bin ?? '/usr/sbin/sshd';
  const user = options.user ?? os.userInfo().username;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tunnelmux-sshd-'));
  try {
    ensurePrivsepDir();
    const hostKey = await generateKey(path.join(dir, 'ssh_host_ed25519_key'), 'tunnelmux-test-host');
    const clientKey = await generateKey(path.join(dir, 'client_ed25519'), 'tunnelmux-test-client');
    const authorizedKeysFile = path.join(dir, 'authorized_keys');
    await writeFile(
      authorizedKeysFile,
      [clientKey.publicKey, ...(options.authorizedKeys ?? [])].join('\n') + '\n',
      {
        mode: 0o600,
      },
    );
    // Another process may take the free port between our probe and sshd's bind: try a few ports.
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const configFile = path.join(dir, 'sshd_config');
      await writeFile(
        configFile,
        sshdConfig({ dir, port, hostKey, authorizedKeysFile, extra: options.config }),
      );
      try {
        const started = await launch(bin, configFile, port, options.startTimeoutMs ?? 20_000);
        const knownHostsFile = path.join(dir, 'known_hosts');
        await writeFile(knownHostsFile, knownHostsLine('127.0.0.1', port, hostKey.publicKey) + '\n');
        return makeServer({ ...started, port, user, dir, configFile, hostKey, clientKey, knownHostsFile });
      } catch (error) {
        lastError = error;
        if (!(error instanceof BindError)) break;
      }
    }
    throw lastError;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function sshdConfig(input: {
  dir: string;
  port: number;
  hostKey: KeyPair;
  authorizedKeysFile: string;
  extra?: readonly string[];
}): string {
  return [
    `ListenAddress 127.0.0.1`,
    `Port ${input.port}`,
    `HostKey ${input.hostKey.privateKey}`,
    `AuthorizedKeysFile ${input.authorizedKeysFile}`,
    `PidFile none`,
    // No PAM and no ownership checks: the server runs unprivileged-style from a temp folder.
    `UsePAM no`,
    `StrictModes no`,
    `PermitRootLogin prohibit-password`,
    `PubkeyAuthentication yes`,
    `PasswordAuthentication no`,
    `KbdInteractiveAuthentication no`,
    `AllowTcpForwarding yes`,
    `X11Forwarding no`,
    `PrintMotd no`,
    `UseDNS no`,
    `MaxStartups 100:30:200`,
    `LogLevel INFO`,
    ...(input.extra ?? []),
    '',
  ].join('\n');
}

// sshd refuses to start as root without its privilege separation folder.
function ensurePrivsepDir(): void {
  if (process.getuid?.() !== 0) return;
  try {
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  } catch {
    // sshd will say what is wrong.
  }
}

class BindError extends Error {}

interface Launched {
  child: ChildProcess;
  lines: string[];
}

async function launch(bin: string, configFile: string, port: number, timeoutMs: number): Promise<Launched> {
  const child = spawn(bin, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let listening = false;
  let exited: string | undefined;
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split(/\r?\n/)) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 500) lines.shift();
      if (line.includes(`Server listening on 127.0.0.1 port ${port}.`)) listening = true;
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `code ${code}`;
    if (child.pid) running.delete(child.pid);
  });
  child.once('error', (error) => {
    exited = error.message;
  });
  if (child.pid) trackForExit(child.pid);

  // Ready = sshd said it listens and the port accepts; no fixed sleep.
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    if (exited !== undefined) {
      const text = lines.join('\n');
      const message = `[tunnelmux] [testkit] sshd exited (${exited}) before listening on 127.0.0.1:${port}:\n${text}`;
      throw /Address already in use|Cannot bind any address/.test(text)
        ? new BindError(message)
        : new Error(message);
    }
    if (listening && (await accepts(port))) return { child, lines };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `[tunnelmux] [testkit] sshd did not accept on 127.0.0.1:${port} within ${timeoutMs} ms`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
}

function makeServer(
  input: Launched & {
    port: number;
    user: string;
    dir: string;
    configFile: string;
    hostKey: KeyPair;
    clientKey: KeyPair;
    knownHostsFile: string;
  },
): Sshd {
  const { child, port } = input;
  const pid = child.pid!;
  const stopped = new Set<number>();
  let closing: Promise<void> | undefined;
  const gone = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  const server: Sshd = {
    host: '127.0.0.1',
    port,
    user: input.user,
    dir: input.dir,
    configFile: input.configFile,
    hostPublicKey: input.hostKey.publicKey,
    clientKey: input.clientKey,
    knownHostsFile: input.knownHostsFile,
    pid,
    knownHostsLine: (host = '127.0.0.1', otherPort = port) =>
      knownHostsLine(host, otherPort, input.hostKey.publicKey),
    logs: () => [...input.lines],
    sessions: () => descendantsOf(pid),
    async freeze(options = {}) {
      const pids = [...(await descendantsOf(pid)), ...(options.listener ? [pid] : [])];
      for (const target of pids) {
        if (signal(target, 'SIGSTOP')) stopped.add(target);
      }
      return pids;
    },
    async thaw() {
      for (const target of stopped) signal(target, 'SIGCONT');
      stopped.clear();
    },
    close() {
      closing ??= (async () => {
        // Sessions outlive a stopped listener (sshd -D), so end them first; stopped ones need SIGKILL anyway.
        const sessions = await descendantsOf(pid);
        signal(pid, 'SIGKILL');
        for (const session of sessions) signal(session, 'SIGKILL');
        await Promise.race([gone, sleep(5000)]);
        for (const session of sessions) await waitGone(session);
        running.delete(pid);
        await rm(input.dir, { recursive: true, force: true });
      })();
      return closing;
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
  return server;
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

// Bounded wait for a killed pid (not our child, so no exit event) to disappear from /proc.
async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (state === undefined || state.slice(state.lastIndexOf(')') + 2).startsWith('Z')) return;
    await sleep(20);
  }
}

/** Pids of every descendant of `pid`, from /proc (Linux). */
async function descendantsOf(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Options for an `ssh` provider path through `jump`: its client key and pinned host key, no ~/.ssh/config,
 * quick keepalives (a frozen jump host is given up on after about `serverAliveInterval` x `serverAliveCountMax` s).
 */
export function jumpPathOptions(jump: Sshd, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: jump.port,
    user: jump.user,
    identityFile: jump.clientKey.privateKey,
    knownHostsFile: jump.knownHostsFile,
    configFile: 'none',
    connectTimeout: 5,
    serverAliveInterval: 1,
    serverAliveCountMax: 3,
    ...extra,
  };
}

/**
 * A real `ssh` client login as `server`'s user with its client key and strict host-key checking, running
 * `command`: straight to `server`, or to another `port` (a front door) with the `knownHostsFile` that pins it.
 */
export function sshLogin(
  server: Sshd,
  command: string,
  options: { port?: number; knownHostsFile?: string; connectTimeoutS?: number; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(
    'ssh',
    [
      '-F',
      'none',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-i',
      server.clientKey.privateKey,
      '-o',
      `UserKnownHostsFile=${options.knownHostsFile ?? server.knownHostsFile}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `ConnectTimeout=${options.connectTimeoutS ?? 10}`,
      '-p',
      String(options.port ?? server.port),
      `${server.user}@127.0.0.1`,
      command,
    ],
    { timeout: options.timeoutMs ?? 30_000 },
  );
}
