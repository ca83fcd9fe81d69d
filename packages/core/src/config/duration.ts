import ms from 'ms';
import { z } from 'zod';

/** A duration as milliseconds or text such as `500ms`, `2s`, `1m`; parsed to milliseconds. */
export const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = typeof value === 'number' ? value : ms(value.trim() as ms.StringValue);
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a duration such as 500ms, 2s or 1m (or a number of milliseconds)',
    });
    return z.NEVER;
  }
  return parsed;
});

/** Parse a duration or throw; for CLI flags. */
export function parseDuration(value: string | number): number | undefined {
  const result = duration.safeParse(value);
  return result.success ? result.data : undefined;
}
