/** How long a stop may take before it says what it still waits for: the front doors drain for 5 s at most. */
export const SLOW_STOP_MS = 10_000;

/**
 * Names the stage a stop has reached, and says it on stderr (with the kinds of handle still open) if the stop
 * is still running after `afterMs`: a stop that hangs can then be told from one that is merely slow.
 */
export function slowStopReporter(
  afterMs = SLOW_STOP_MS,
  write: (line: string) => void = (line) => process.stderr.write(line),
) {
  let current = 'starting';
  let detail: (() => string[]) | undefined;
  const timer = setTimeout(() => {
    const open = new Map<string, number>();
    for (const kind of process.getActiveResourcesInfo()) open.set(kind, (open.get(kind) ?? 0) + 1);
    const handles = [...open].map(([kind, count]) => `${kind} ×${count}`).join(', ');
    const waits = detail?.() ?? [];
    write(
      `[tunnelmux] still stopping after ${afterMs / 1000} s: waiting for ${current}${waits.length > 0 ? ` (${waits.join('; ')})` : ''} (open: ${handles || 'nothing'})\n`,
    );
  }, afterMs);
  timer.unref();
  return {
    /** The stage now under way, and what it still waits for, asked only if the stop turns out slow. */
    stage(name: string, waitsFor?: () => string[]) {
      current = name;
      detail = waitsFor;
    },
    done() {
      clearTimeout(timer);
    },
  };
}
