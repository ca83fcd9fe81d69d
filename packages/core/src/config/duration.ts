import ms from 'ms';
import { z } from 'zod';

/** The longest timer Node can set (2^31-1 ms, about 24.8 days); a longer one fires at once. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

// The text forms `ms` understands, without a sign (a negative duration is never meant); `ms` allows only
// spaces between number and unit, so a tab or form feed there would pass this check and then fail to parse.
const DURATION_TEXT =
  /^\s*(?:\d+(?:\.\d+)?|\.\d+) *(?:ms|msecs?|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|y|yrs?|years?)?\s*$/i;

const EXPECTED = 'must be a duration such as 500ms, 2s or 1m (or a number of milliseconds)';

/** Bounds of one duration field, in milliseconds. */
export interface DurationBounds {
  min?: number;
  max?: number;
}

const UNITS: [string, number][] = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** `86400000` → `24h`, `1500` → `1500ms`: the largest unit that states the value exactly. */
export function formatDuration(value: number): string {
  const unit = UNITS.find(([, size]) => value >= size && value % size === 0);
  return unit ? `${value / unit[1]}${unit[0]}` : `${value}ms`;
}

/**
 * A duration as milliseconds or text such as `500ms`, `2s`, `1m`, parsed to milliseconds and bounded: at most
 * `max` (never above what a Node timer can wait), at least `min`.
 */
export function boundedDuration({ min = 0, max = TIMER_MAX_MS }: DurationBounds = {}) {
  const upper = Math.min(max, TIMER_MAX_MS);
  const tooBig = `must be at most ${formatDuration(upper)}${upper === TIMER_MAX_MS ? ' (the longest a timer can wait)' : ''}`;
  const tooSmall = min > 0 ? `must be at least ${formatDuration(min)}` : EXPECTED;
  // Numbers carry their bounds in the schema (editors show them); text is bounded once parsed.
  return z
    .union([z.number().min(min, tooSmall).max(upper, tooBig), z.string().regex(DURATION_TEXT, EXPECTED)], {
      error: EXPECTED,
    })
    .transform((value, ctx) => {
      const parsed = typeof value === 'number' ? value : ms(value.trim() as ms.StringValue);
      if (typeof parsed !== 'number' || Number.isNaN(parsed) || parsed < 0) {
        ctx.addIssue({ code: 'custom', message: EXPECTED });
        return z.NEVER;
      }
      if (parsed > upper || parsed < min) {
        ctx.addIssue({ code: 'custom', message: parsed > upper ? tooBig : tooSmall });
        return z.NEVER;
      }
      return parsed;
    })
    .meta({
      description: `A duration: 500ms, 2s, 1m, or a number of milliseconds (at most ${formatDuration(upper)}).`,
    });
}

/** Any duration a timer can wait: 0 to 2^31-1 ms. */
export const duration = boundedDuration();

/** Parse a duration or return undefined; for CLI flags. */
export function parseDuration(value: string | number): number | undefined {
  const result = duration.safeParse(value);
  return result.success ? result.data : undefined;
}
