import type { TunnelEnd } from '../provider/tunnel-end';

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** The last lines it printed (bounded), newest last. */
  lastLines: string[];
  /** Why it ended, when the provider knows better than the exit code. */
  reason?: string;
  /** Retrying cannot help: the path goes to `failed`, not restarted. */
  fatal?: boolean;
}

/** `code 1`, `signal SIGKILL`. */
export function describeExit(info: Pick<ExitInfo, 'code' | 'signal'>): string {
  if (info.signal) return `signal ${info.signal}`;
  return `code ${info.code ?? 'unknown'}`;
}

/** A tunnel's end, filled from its process's exit. */
export function processEnd(info: ExitInfo): TunnelEnd {
  return {
    reason: `process exited (${info.reason ?? describeExit(info)})`,
    fatal: info.fatal,
    lastLines: info.lastLines,
    exit: { code: info.code, signal: info.signal },
  };
}
