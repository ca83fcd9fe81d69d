// Go's time.Duration text: what `tailscale ping` prints and what its --timeout flag takes.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const WHOLE = /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/** `3ms`, `1.234s`, `1m2.5s`, `0s` → milliseconds; undefined for anything Go's ParseDuration refuses. */
export function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  if (!WHOLE.test(trimmed)) return undefined;
  let total = 0;
  for (const part of trimmed.matchAll(PART)) total += Number(part[1]) * UNIT_MS[part[2]!]!;
  return trimmed.startsWith('-') ? -total : total;
}

/** Milliseconds as a Go duration flag value (`2s`, `250ms`). */
export function formatGoDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}
