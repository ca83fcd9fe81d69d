import bytes from 'bytes';
import ms from 'ms';
import { z } from 'zod';

// The `state:` and `history:` blocks of tunnelmux.yaml, read by `up` (recording) and by `history`/`report`.

const DURATION_TEXT = /^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w|y)?\s*$/i;
const SIZE_TEXT = /^\s*\d+(?:\.\d+)?\s*(?:b|kb|mb|gb|tb)?\s*$/i;
const RETENTION_MIN = 3_600_000;
const RETENTION_MAX = 10 * 365 * 86_400_000;
const SIZE_MIN = 1024 * 1024;

/** How long history is kept: `30d`, `12w`, `720h` or milliseconds; one hour to ten years. */
export const retention = z
  .union([
    z.number().min(RETENTION_MIN).max(RETENTION_MAX),
    z.string().regex(DURATION_TEXT, 'must be a duration such as 30d, 12w or 720h'),
  ])
  .transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : ms(value.trim() as ms.StringValue);
    if (
      typeof parsed !== 'number' ||
      !Number.isFinite(parsed) ||
      parsed < RETENTION_MIN ||
      parsed > RETENTION_MAX
    ) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a duration from 1h to 3650d, such as 30d, 12w or 720h',
      });
      return z.NEVER;
    }
    return parsed;
  })
  .meta({
    description: 'How long history is kept: 30d (the default), 12w, 720h, or milliseconds (1h to 3650d).',
  });

/** The history file's size cap: `100MB`, `1GB` or bytes; at least 1MB. */
export const maxSize = z
  .union([
    z.number().int().min(SIZE_MIN),
    z.string().regex(SIZE_TEXT, 'must be a size such as 100MB, 512MB or 1GB'),
  ])
  .transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : bytes.parse(value.trim());
    if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < SIZE_MIN) {
      ctx.addIssue({ code: 'custom', message: 'must be a size of at least 1MB, such as 100MB or 1GB' });
      return z.NEVER;
    }
    return parsed;
  })
  .meta({
    description:
      'Size cap of the history file: 100MB (the default), 1GB, or bytes; the oldest rows go first.',
  });

/** `history:` in tunnelmux.yaml. */
export const historySchema = z
  .object({
    enabled: z.boolean().optional().meta({ description: 'Record history while `up` runs (default true).' }),
    retention: retention.optional(),
    maxSize: maxSize.optional(),
  })
  .strict()
  .meta({ description: 'What `up` keeps for `tunnelmux history` and `tunnelmux report`.' });

/** `state:` in tunnelmux.yaml. */
export const stateSchema = z.string().min(1).meta({
  description:
    'Where history is kept: a folder (history.sqlite goes inside) or a .sqlite/.db file, relative to this file. Default: the XDG state folder.',
});

export type HistoryConfig = z.output<typeof historySchema>;
