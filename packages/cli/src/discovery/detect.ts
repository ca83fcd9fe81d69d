import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type {
  ChildHandle,
  ChildLine,
  DetectContext,
  DetectResult,
  ExitInfo,
  Provider,
  SpawnOptions,
} from '@tunnelmux/core';
import { execa } from 'execa';
import { messageOf } from '../util/errors';

/**
 * A DetectContext for `doctor` and `providers --detect`. Core builds these helpers for the manager but does not
 * export them (createHelpers), so the CLI carries a small equivalent until it does.
 */
export function detectContext(env: NodeJS.ProcessEnv, signal: AbortSignal, bin?: string): DetectContext {
  return {
    env,
    signal,
    bin,
    which: (command, explicit) => which(command, env, explicit),
    spawn: (command, args, options) => spawn(command, args, env, options),
    freePort,
    waitForPort: async (target, options = {}) => {
      const deadline = Date.now() + (options.timeoutMs ?? 10_000);
      for (;;) {
        try {
          (await dialTcp(target, { signal: options.signal, timeoutMs: 1000 })).destroy();
          return;
        } catch (error) {
          if (options.signal?.aborted || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    dialTcp,
    // Detect publishes nothing, so there is nothing to undo after a crash.
    undoIfOrphaned: () => () => undefined,
  };
}

/** Run a provider's detect with a timeout; a throwing detect is reported, not fatal. */
export async function detectProvider(
  provider: Provider,
  env: NodeJS.ProcessEnv,
  bin?: string,
): Promise<DetectResult> {
  const signal = AbortSignal.timeout(15_000);
  try {
    return await provider.detect(detectContext(env, signal, bin));
  } catch (error) {
    return { available: false, detail: `detect failed: ${messageOf(error)}` };
  }
}

async function which(command: string, env: NodeJS.ProcessEnv, bin?: string): Promise<string | undefined> {
  const executable = async (file: string) =>
    access(file, constants.X_OK).then(
      () => true,
      () => false,
    );
  if (bin) return (await executable(bin)) ? path.resolve(bin) : undefined;
  if (command.includes('/')) return (await executable(command)) ? path.resolve(command) : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && (await executable(path.join(dir, command)))) return path.join(dir, command);
  }
  return undefined;
}

function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function dialTcp(
  target: { host: string; port: number },
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
) {
  return new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(
      () => fail(new Error(`timed out dialing ${target.host}:${target.port}`)),
      options.timeoutMs ?? 5000,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    options.signal?.addEventListener('abort', () => fail(new Error('aborted')), { once: true });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', fail);
  });
}

// A plain execa child with the ChildHandle shape; detect only runs short version commands.
function spawn(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: SpawnOptions = {},
): ChildHandle {
  const lines: string[] = [];
  const listeners = new Set<(line: ChildLine) => void>();
  const child = execa(command, [...args], {
    env: { ...env, ...options.env },
    extendEnv: false,
    cwd: options.cwd,
    stdin: options.stdin ?? 'ignore',
    buffer: false,
    reject: false,
    cleanup: true,
    forceKillAfterDelay: options.killGraceMs ?? 3000,
    cancelSignal: options.signal,
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    let rest = '';
    child[stream]?.setEncoding('utf8');
    child[stream]?.on('data', (chunk: string) => {
      rest += chunk;
      const parts = rest.split(/\r?\n/);
      rest = parts.pop() ?? '';
      for (const text of parts) {
        lines.push(text);
        if (lines.length > (options.keepLines ?? 50)) lines.shift();
        for (const listener of listeners) listener({ stream, text });
      }
    });
  }
  const exited: Promise<ExitInfo> = child.then((result) => ({
    code: result.exitCode ?? null,
    signal: result.signal ?? null,
    lastLines: [...lines],
  }));
  return {
    pid: child.pid,
    exited,
    process: child,
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForLine(match, waitOptions = {}) {
      const test = typeof match === 'function' ? match : (line: ChildLine) => match.test(line.text);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error('timed out waiting for a line')),
          waitOptions.timeoutMs ?? 30_000,
        );
        const off = this.onLine((line) => test(line) && done(undefined, line));
        const done = (error?: Error, line?: ChildLine) => {
          clearTimeout(timer);
          off();
          if (line) resolve(line);
          else reject(error);
        };
        void exited.then(() => done(new Error(`${command} exited before printing the line`)));
        waitOptions.signal?.addEventListener('abort', () => done(new Error('aborted')), { once: true });
      });
    },
    lastLines: () => [...lines],
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
