// Running npm, pnpm and the installed CLI as a user would, with bounded time and everything captured.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** PATH with this Node first, so npm and the installed CLI run on the same runtime as the tests. */
export function toolPath(): string {
  return [path.dirname(process.execPath), process.env.PATH ?? ''].join(path.delimiter);
}

/**
 * What every command here runs with: no colour, and npm (also when the CLI's `plugins add` runs it) preferring
 * its local cache for registry metadata, so the test measures tunnelmux rather than the registry's speed.
 */
const USER_ENV: NodeJS.ProcessEnv = {
  NO_COLOR: '1',
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
};

/** Run a command to completion; never rejects for a non-zero exit (the caller asserts on it). */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      {
        cwd: options.cwd,
        env: { ...process.env, ...USER_ENV, PATH: toolPath(), ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 32 * 1024 * 1024,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        if (error && typeof error.code !== 'number' && !error.killed) {
          reject(new Error(`could not run ${command} ${args.join(' ')}: ${error.message}`));
          return;
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Run and insist on exit 0, with the output in the error when not. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `\`${command} ${args.join(' ')}\` in ${options.cwd} exited ${result.code}\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`,
    );
  }
  return result;
}

/** Parse the one JSON document a `--json` command printed, or fail with what it printed instead. */
export function parseJson<T = unknown>(result: RunResult, what: string): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `${what} did not print JSON (exit ${result.code})\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`,
    );
  }
}

/** A long-running process whose stdout lines can be awaited (for `tunnelmux up --json`). */
export function startProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
) {
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: { ...process.env, ...USER_ENV, PATH: toolPath(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let rest = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    rest += chunk;
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => {
    for (const wake of waiters) wake();
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });

  return {
    pid: child.pid,
    lines,
    exited,
    stderr: () => stderr,
    /** The first stdout line (parsed as JSON) that `match` accepts; rejects on exit or after `timeoutMs`. */
    async waitForJson<T>(match: (value: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      let seen = 0;
      for (;;) {
        for (; seen < lines.length; seen++) {
          try {
            const value = JSON.parse(lines[seen]!) as Record<string, unknown>;
            if (match(value)) return value as T;
          } catch {
            // Not JSON; keep reading.
          }
        }
        if (done)
          throw new Error(`${command} exited before the awaited line\n${lines.join('\n')}\n${stderr}`);
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`timed out waiting for a line from ${command}\n${lines.join('\n')}\n${stderr}`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(left, 1000));
          waiters.add(wake);
        });
      }
    },
    /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
    async stop(graceMs = 15_000): Promise<number | null> {
      if (!done) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
