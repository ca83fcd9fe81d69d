import { childEnv, guardPid } from '@tunnelmux/core/provider';
import { execa } from 'execa';

/** What a command hook gets besides its argv. */
export interface CommandRun {
  argv: readonly string[];
  /** The JSON written to its stdin. */
  input: string;
  /** TUNNELMUX_* variables, on top of the minimal child environment. */
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  /** Aborted when tunnelmux stops: the command is killed like at its timeout. */
  signal: AbortSignal;
  /** Between SIGTERM and SIGKILL of the process group (default 1000). */
  killGraceMs?: number;
}

// Enough of stderr to say why a hook failed, and no more held in memory.
const STDERR_TAIL = 1024;

/**
 * Run one command hook in a process group of its own; resolves (never rejects) with why it failed, or
 * undefined on exit 0. At the timeout or abort the whole group gets SIGTERM, then SIGKILL.
 */
export async function runCommand(run: CommandRun): Promise<string | undefined> {
  const [file, ...args] = run.argv;
  if (!file) return 'no program given';
  const subprocess = execa(file, args, {
    input: run.input,
    env: childEnv(process.env, [], run.env),
    extendEnv: false,
    cwd: run.cwd,
    // Its own group, so a shell script's children die with it at the timeout.
    detached: true,
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    windowsHide: true,
  });
  let tail = '';
  subprocess.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL);
  });
  // A hook that never reads its stdin must not fail the write with an unhandled EPIPE.
  subprocess.stdin?.on('error', () => undefined);

  const pid = subprocess.pid;
  // Should tunnelmux die (even by SIGKILL) while the hook runs, core's reaper ends the hook's whole group.
  const unguard = pid === undefined ? () => undefined : guardPid(-pid);
  let killedFor: string | undefined;
  const killGroup = (why: string) => {
    killedFor ??= why;
    signalGroup(pid, 'SIGTERM');
    const hard = setTimeout(() => signalGroup(pid, 'SIGKILL'), run.killGraceMs ?? 1000);
    hard.unref();
    void subprocess.finally(() => clearTimeout(hard));
  };
  const timer = setTimeout(
    () => killGroup(`timed out after ${run.timeoutMs}ms and was killed`),
    run.timeoutMs,
  );
  const onAbort = () => killGroup('killed: tunnelmux is stopping');
  if (run.signal.aborted) onAbort();
  else run.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await subprocess;
    if (killedFor) return killedFor;
    if (result.failed && result.exitCode === undefined && !result.signal) return result.shortMessage;
    if (result.signal) return `was killed by ${result.signal}${lastLine(tail)}`;
    if (result.exitCode !== 0) return `exited with code ${result.exitCode}${lastLine(tail)}`;
    return undefined;
  } finally {
    clearTimeout(timer);
    run.signal.removeEventListener('abort', onAbort);
    // Whatever the hook left running in its group (a `&` in a script) goes with it.
    signalGroup(pid, 'SIGKILL');
    unguard();
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function lastLine(text: string): string {
  const line = text.trim().split('\n').at(-1)?.trim();
  return line ? `: ${line.slice(0, 300)}` : '';
}
