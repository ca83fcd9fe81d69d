import { execa, type ResultPromise } from 'execa';

/** A running `tunnelmux` command with `--json`: its NDJSON lines as they come, and its exit. */
export interface JsonProcess {
  child: ResultPromise;
  pid: number;
  lines: Record<string, unknown>[];
  /** Lines that were not JSON (should be none), kept for the report. */
  garbage: string[];
  exited: boolean;
  exitCode?: number;
  stderr(): string;
  waitFor(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs: number): Promise<{ code?: number; signal?: string; killed: boolean }>;
}

/** Start `node <bin> <args> --json`, reading its stdout line by line without holding it all. */
export function startJson(
  bin: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; keep?: (line: Record<string, unknown>) => boolean },
): JsonProcess {
  const child = execa(process.execPath, [bin, ...args, '--json'], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    buffer: false,
    // stop() sends SIGKILL after its own grace; execa's default would SIGKILL 5 s after any SIGTERM, which cut
    // short stops that drained a live connection for their full 5 s and read as hangs.
    forceKillAfterDelay: false,
  });
  let rest = '';
  let err = '';
  const waiters = new Set<{
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }>();
  const proc: JsonProcess = {
    child,
    pid: child.pid ?? 0,
    lines: [],
    garbage: [],
    exited: false,
    stderr: () => err.slice(-4000),
    waitFor(match, timeoutMs, what) {
      const seen = proc.lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no ${what} within ${timeoutMs} ms; stderr: ${proc.stderr()}`));
        }, timeoutMs);
        const waiter = {
          match,
          resolve: (line: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.add(waiter);
        void child.finally(() => {
          if (waiters.delete(waiter)) {
            clearTimeout(timer);
            reject(new Error(`the process exited before ${what}; stderr: ${proc.stderr()}`));
          }
        });
      });
    },
    async stop(graceMs) {
      if (!proc.exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await child;
      clearTimeout(timer);
      return { code: result.exitCode, signal: result.signal, killed: result.signal === 'SIGKILL' };
    },
  };
  child.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-16_000);
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) {
      if (!text.trim()) continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        if (proc.garbage.length < 20) proc.garbage.push(text.slice(0, 200));
        continue;
      }
      if (!options.keep || options.keep(line)) proc.lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  void child.then((result) => {
    proc.exited = true;
    proc.exitCode = result.exitCode;
  });
  return proc;
}
