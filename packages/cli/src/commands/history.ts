import type { TunnelmuxEvent } from '@tunnelmux/core';
import type { EventRow, HistoryStore } from '@tunnelmux/history';
import { openHistory, parseWhen } from '../history/open';
import { describeEvent } from '../render/events';
import { usageError } from '../util/errors';
import { colors, printLine } from '../util/output';

export interface HistoryOptions {
  since?: string;
  until?: string;
  service?: string;
  path?: string;
  type?: string[];
  name?: string;
  limit?: string;
  state?: string;
  config?: string;
  json?: boolean;
  follow?: boolean;
}

// How often --follow reads the file, and the most rows one read prints (the next read takes the rest).
const FOLLOW_EVERY_MS = 1000;
const FOLLOW_BATCH = 1000;

/** `tunnelmux history`: recorded events, newest last; `--follow` goes on with new ones as `up` writes them. */
export async function history(options: HistoryOptions): Promise<void> {
  const now = Date.now();
  const since = parseWhen(options.since ?? '24h', '--since', now);
  const until = options.until !== undefined ? parseWhen(options.until, '--until', now) : undefined;
  if (until !== undefined && until < since) {
    throw usageError(
      `[tunnelmux] --until (${new Date(until).toISOString()}) is before --since (${new Date(since).toISOString()}); swap them`,
    );
  }
  const types = options.type
    ?.flatMap((value) => value.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  const limit = options.limit !== undefined ? Number(options.limit) : undefined;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw usageError(
      `[tunnelmux] --limit must be a whole number of events, 1 or more; got ${JSON.stringify(options.limit)}`,
    );
  }
  const store = await openHistory(options);
  const filter = { instance: options.name, service: options.service, path: options.path, types };
  try {
    const rows = store.events({ ...filter, since, until, limit });
    const many = new Set(rows.map((row) => row.instance)).size > 1;
    for (const row of rows) print(row, options.json, many);
    if (!options.json && rows.length === 0 && !options.follow) {
      process.stderr.write(
        `no events in ${store.file} from ${stamp(since)}${until !== undefined ? ` to ${stamp(until)}` : ''}${describeFilter(options, types)}\n`,
      );
    }
    if (options.follow)
      await follow(store, filter, until, options.json, rows.at(-1)?.id ?? store.lastEventId());
  } finally {
    store.close();
  }
}

/** Poll the file for rows written after `afterId` until Ctrl-C (or --until has passed). */
async function follow(
  store: HistoryStore,
  filter: { instance?: string; service?: string; path?: string; types?: string[] },
  until: number | undefined,
  json: boolean | undefined,
  afterId: number,
): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let last = afterId;
  try {
    while (!stop.signal.aborted && (until === undefined || Date.now() <= until)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FOLLOW_EVERY_MS);
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      // Rows are written a batch at a time, so ids only grow; reading past the last one seen misses nothing.
      const rows = store.events({ ...filter, afterId: last, until }).slice(0, FOLLOW_BATCH);
      for (const row of rows) print(row, json, true);
      last = rows.at(-1)?.id ?? last;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function print(row: EventRow, json: boolean | undefined, showInstance: boolean): void {
  if (json) {
    printLine({ ...row.event, instance: row.instance, service: row.service });
    return;
  }
  const where = [showInstance ? row.instance : '', row.service !== 'default' ? row.service : '']
    .filter(Boolean)
    .join('/');
  process.stdout.write(
    `${colors.dim(stamp(row.time))} ${where ? `${colors.dim(`[${where}]`)} ` : ''}${describeEvent(row.event as unknown as TunnelmuxEvent)}\n`,
  );
}

/** `2026-11-30 08:01:02` in UTC: history spans days, and UTC reads the same on every machine. */
export function stamp(time: number): string {
  return `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function describeFilter(options: HistoryOptions, types: string[] | undefined): string {
  const parts = [
    options.name ? `instance ${options.name}` : '',
    options.service ? `service ${options.service}` : '',
    options.path ? `path ${options.path}` : '',
    types?.length ? `type ${types.join(',')}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? ` matching ${parts.join(', ')}` : '';
}
