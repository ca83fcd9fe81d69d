import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { ProviderError } from '../errors';
import type { TunnelEnd } from '../provider/tunnel-end';
import { childEnv } from './child-env';
import { describeExit, type ExitInfo, processEnd } from './exit';
import { LineSplitter, RingBuffer } from './line-splitter';
import { capReadRate } from './read-cap';
import { guardPid } from './reaper';

export interface SpawnOptions {
  /** This child's own variables (its path's secrets and settings); `undefined` removes one. */
  env?: NodeJS.ProcessEnv;
  /**
   * Variables of the tool passed through from tunnelmux's environment: names, or `PREFIX_*` patterns (which never
   * carry a secret-looking name). The child otherwise sees only `BASE_CHILD_ENV` and TUNNELMUX_PASS_ENV.
   */
  passEnv?: readonly string[];
  cwd?: string;
  /** Kills the child when aborted. */
  signal?: AbortSignal;
  /** Milliseconds between SIGTERM and SIGKILL (default 3000). */
  killGraceMs?: number;
  /** How many of the last lines to keep for errors (default 50). */
  keepLines?: number;
  /** Lines longer than this are cut (default 4096). */
  maxLineLength?: number;
  /** Feed stdin from this; default ignore. 'pipe' keeps stdin open for the child. */
  stdin?: 'ignore' | 'pipe';
  /** stdout carries data (e.g. `tailscale nc`): leave it raw, not split into lines or kept. */
  rawStdout?: boolean;
  /** Say why the tool ended (read at exit, so it may use what the provider saw): `done`'s reason, fatal, lines. */
  explainExit?: (info: ExitInfo) => { reason?: string; fatal?: boolean; lastLines?: string[] } | undefined;
}

/** A line a child printed, with the stream it came from. */
export interface ChildLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

/** A running tool: its lines, its exit, and a clean way to stop it. */
export interface ChildHandle {
  readonly pid: number | undefined;
  readonly exited: Promise<ExitInfo>;
  /** True once `exited` has settled. */
  readonly ended: boolean;
  /** The tunnel's end as core wants it (`Tunnel.done`), filled from the exit and `explainExit`. */
  readonly done: Promise<TunnelEnd>;
  /** Call `listener` for every line from now on; returns an unsubscribe function. */
  onLine(listener: (line: ChildLine) => void): () => void;
  /** Resolve with the first line (from now on) that matches; reject on exit, abort or timeout. */
  waitForLine(
    match: RegExp | ((line: ChildLine) => boolean),
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<ChildLine>;
  lastLines(): string[];
  /** SIGTERM, then SIGKILL after the grace period; resolves once it is gone. */
  stop(): Promise<ExitInfo>;
  /** The tool's pipes, for a provider that streams through it (`stdin: 'pipe'`, `rawStdout`). */
  readonly stdio: { stdin: Writable | null; stdout: Readable | null; stderr: Readable | null };
}

/** Runs `command` under execa with bounded output, a guaranteed kill path and a minimal environment from `baseEnv`. */
export function spawnChild(
  command: string,
  args: readonly string[],
  baseEnv: NodeJS.ProcessEnv,
  options: SpawnOptions = {},
): ChildHandle {
  const keep = new RingBuffer<string>(options.keepLines ?? 50);
  const listeners = new Set<(line: ChildLine) => void>();
  const graceMs = options.killGraceMs ?? 3000;
  const subprocess = execa(command, [...args], {
    env: childEnv(baseEnv, options.passEnv, options.env),
    extendEnv: false,
    cwd: options.cwd,
    stdin: options.stdin ?? 'ignore',
    buffer: false,
    reject: false,
    cleanup: true,
    forceKillAfterDelay: graceMs,
    cancelSignal: options.signal,
    windowsHide: true,
  });

  const emit = (stream: ChildLine['stream']) => (text: string) => {
    keep.push(text);
    for (const listener of listeners) listener({ stream, text });
  };
  for (const stream of options.rawStdout ? (['stderr'] as const) : (['stdout', 'stderr'] as const)) {
    const source = subprocess[stream];
    if (!source) continue;
    const splitter = new LineSplitter(emit(stream), options.maxLineLength ?? 4096);
    source.on('data', (chunk: Buffer) => splitter.push(chunk));
    // A flooding tool is read at a bounded pace: its pipe fills and it waits, our memory and CPU stay bounded.
    const uncap = capReadRate(source);
    source.on('end', () => {
      uncap();
      splitter.end();
    });
  }

  // Settled by whichever comes first: the process 'exit' event (a crash is known at once; stdio gets up to 500 ms
  // to deliver the last lines; pipes close at once unless a grandchild holds them) or execa's result (which also covers spawn failures such as ENOENT).
  const exited = new Promise<ExitInfo>((resolve) => {
    subprocess.nodeChildProcess.once('exit', (code, signal) => {
      const streams = [subprocess.stdout, subprocess.stderr].filter((s) => s && !s.readableEnded);
      const ended = Promise.all(streams.map((s) => new Promise((done) => s!.once('close', done))));
      void Promise.race([ended, new Promise((done) => setTimeout(done, 500))]).then(() =>
        resolve({ code, signal, lastLines: keep.toArray() }),
      );
    });
    subprocess.then(
      (result) =>
        resolve({
          code: result.exitCode ?? null,
          signal: result.signal ?? null,
          lastLines: keep.toArray(),
          reason:
            result.failed && result.exitCode === undefined && !result.signal
              ? result.shortMessage
              : undefined,
        }),
      (error: { exitCode?: number; signal?: string; shortMessage?: string }) =>
        resolve({
          code: error.exitCode ?? null,
          signal: error.signal ?? null,
          lastLines: keep.toArray(),
          reason: error.shortMessage,
        }),
    );
  });

  if (subprocess.pid !== undefined) {
    const unguard = guardPid(subprocess.pid);
    void exited.then(unguard);
  }

  let stopping: Promise<ExitInfo> | undefined;
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const handle: ChildHandle = {
    pid: subprocess.pid,
    exited,
    get ended() {
      return ended;
    },
    done: exited.then((info) => processEnd({ ...info, ...options.explainExit?.(info) })),
    stdio: { stdin: subprocess.stdin, stdout: subprocess.stdout, stderr: subprocess.stderr },
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForLine(match, waitOptions = {}) {
      const test = typeof match === 'function' ? match : (line: ChildLine) => match.test(line.text);
      return new Promise<ChildLine>((resolve, reject) => {
        const cleanup = () => {
          off();
          clearTimeout(timer);
          waitOptions.signal?.removeEventListener('abort', onAbort);
        };
        const off = handle.onLine((line) => {
          if (!test(line)) return;
          cleanup();
          resolve(line);
        });
        const onAbort = () => {
          cleanup();
          reject(waitOptions.signal?.reason ?? new Error('aborted'));
        };
        const timer =
          waitOptions.timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                cleanup();
                reject(
                  new ProviderError(
                    `${command} printed no line matching ${String(match)} within ${waitOptions.timeoutMs} ms`,
                    { lastLines: keep.toArray() },
                  ),
                );
              }, waitOptions.timeoutMs);
        waitOptions.signal?.addEventListener('abort', onAbort, { once: true });
        if (waitOptions.signal?.aborted) onAbort();
        void exited.then((info) => {
          cleanup();
          reject(
            new ProviderError(
              `${command} exited (${describeExit(info)}) before printing a line matching ${String(match)}`,
              { lastLines: info.lastLines },
            ),
          );
        });
      });
    },
    lastLines: () => keep.toArray(),
    stop() {
      stopping ??= (async () => {
        const { exitCode, signalCode } = subprocess.nodeChildProcess;
        if (exitCode === null && signalCode === null) subprocess.kill('SIGTERM');
        return exited;
      })();
      return stopping;
    },
  };
  return handle;
}
