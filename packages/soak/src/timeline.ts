/** A span of epoch-ms time. */
export interface Span {
  from: number;
  to: number;
}

/** One path's view: when the manager had it up (state `connected`), and when the plan had it faulted dead. */
export interface PathTimeline {
  id: string;
  /** The manager's state changes: `connected` means healthy, anything else not. */
  states: { time: number; state: string }[];
  /** Spans in which the fault plan made the path unable to carry traffic. */
  dead: Span[];
}

/**
 * Spans with no healthy path: no path that the manager had up and the plan left working, both at once.
 * A path the manager still believes up while it is really dead does not count, nor one that works but that
 * the manager has not taken back yet: in both cases a new connection has nowhere good to go.
 */
export function noHealthySpans(paths: readonly PathTimeline[], window: Span): Span[] {
  const marks = new Set<number>([window.from, window.to]);
  for (const path of paths) {
    for (const change of path.states) if (inside(change.time, window)) marks.add(change.time);
    for (const span of path.dead) {
      if (inside(span.from, window)) marks.add(span.from);
      if (inside(span.to, window)) marks.add(span.to);
    }
  }
  const times = [...marks].sort((a, b) => a - b);
  const spans: Span[] = [];
  for (let i = 0; i + 1 < times.length; i++) {
    const from = times[i]!;
    const to = times[i + 1]!;
    const healthy = paths.some(
      (path) => upAt(path, from) && !path.dead.some((d) => from >= d.from && from < d.to),
    );
    if (healthy) continue;
    const previous = spans[spans.length - 1];
    if (previous && previous.to === from) previous.to = to;
    else spans.push({ from, to });
  }
  return spans;
}

function upAt(path: PathTimeline, time: number): boolean {
  let state = 'disconnected';
  for (const change of path.states) {
    if (change.time > time) break;
    state = change.state;
  }
  return state === 'connected';
}

function inside(time: number, window: Span): boolean {
  return time > window.from && time < window.to;
}

/**
 * Which bucket a failed connection falls in: 'none-healthy' when, at some moment between its start and its
 * failure (widened by `graceMs` at both ends), no path was both up and working; otherwise 'healthy' (a good path
 * existed the whole time, so the failure is tunnelmux's).
 */
export function classify(attempt: Span, none: readonly Span[], graceMs: number): 'none-healthy' | 'healthy' {
  return none.some((span) => attempt.from - graceMs <= span.to && attempt.to + graceMs >= span.from)
    ? 'none-healthy'
    : 'healthy';
}

/** Total length of the spans, in ms. */
export function totalMs(spans: readonly Span[]): number {
  return spans.reduce((sum, span) => sum + (span.to - span.from), 0);
}
