import { rmSync } from 'node:fs';
import { constants } from 'node:os';
import { printLine } from './output';

/** A second stop signal counts only this long after the first: one Ctrl-C under `npm run` arrives twice at once. */
export const FORCE_AFTER_MS = 1000;

/** What listens for signals: the process, or a stand-in in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

/**
 * The first of `signals` starts a graceful stop; the same or another of them again, `FORCE_AFTER_MS` or more later,
 * means "now": `force` exits without waiting (tunnelmux's reaper still ends every tool process). Returns a remover.
 */
export function onStopSignals(
  signals: readonly NodeJS.Signals[],
  handlers: { stop(signal: NodeJS.Signals): void; force(signal: NodeJS.Signals): void },
  source: SignalSource = process,
  now: () => number = () => performance.now(),
): () => void {
  let firstAt: number | undefined;
  // `on`, not `once`: execa's signal-exit re-raises a signal it believes nobody else handles, and a spent `once`
  // listener no longer counts, so the process would die by the signal instead of stopping cleanly.
  const listeners = signals.map((signal) => {
    const listener = () => {
      if (firstAt === undefined) {
        firstAt = now();
        handlers.stop(signal);
      } else if (now() - firstAt >= FORCE_AFTER_MS) handlers.force(signal);
    };
    source.on(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of listeners) source.off(signal, listener);
  };
}

/** The shell's exit code for death by `signal` (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 1);
}

/** How a signal is named to the user. */
export function signalName(signal: NodeJS.Signals): string {
  return signal === 'SIGINT' ? 'Ctrl-C' : signal;
}

/**
 * The second signal's exit: say so (with `afterwards`, what still happens), remove the control socket, end `--json`
 * output with a forced `stopped` line, and exit with the shell's code for `signal`.
 */
export function exitNow(
  signal: NodeJS.Signals,
  options: { socket: string; json: boolean; afterwards?: string },
): never {
  const afterwards = options.afterwards ? `; ${options.afterwards}` : '';
  process.stderr.write(
    `[tunnelmux] ${signalName(signal)} again: exiting now without finishing the stop${afterwards}\n`,
  );
  rmSync(options.socket, { force: true });
  const code = signalExitCode(signal);
  if (options.json) printLine({ type: 'stopped', time: Date.now(), code, forced: true });
  process.exit(code);
}
