import { loadHistory, openHistory, parseWhen } from '../history/open';
import { BAR_LEGEND, renderReport } from '../history/render';
import { reportRange } from '../history/report-range';
import { usageError } from '../util/errors';
import { colors, printJson } from '../util/output';
import { stamp } from './history';

export interface ReportOptions {
  since?: string;
  until?: string;
  name?: string;
  service?: string;
  state?: string;
  config?: string;
  json?: boolean;
}

/** `tunnelmux report`: availability, failovers, outages, MTTR and latency per service and path over a range. */
export async function report(options: ReportOptions): Promise<void> {
  const now = Date.now();
  const since = parseWhen(options.since ?? '7d', '--since', now);
  const until = options.until !== undefined ? parseWhen(options.until, '--until', now) : now;
  if (until <= since) {
    throw usageError(
      `[tunnelmux] --until (${stamp(until)}) must be after --since (${stamp(since)}); swap them`,
    );
  }
  const store = await openHistory(options);
  const { computeReport, SCHEMA_VERSION } = await loadHistory();
  try {
    const { rows, result, services } = reportRange(store, computeReport, {
      since,
      until,
      instance: options.name,
      service: options.service,
    });
    // A file from an older schema was migrated on open; rows from before runs existed cannot be placed in time.
    const migrated = store.openedAt > 0 && store.openedAt < SCHEMA_VERSION;
    const notes: string[] = [];
    if (migrated) {
      notes.push(
        `${store.file} was written with history schema v${store.openedAt}; it has been migrated to v${SCHEMA_VERSION}`,
      );
    }
    if (rows.legacyRows > 0) {
      notes.push(
        `${rows.legacyRows} row(s) from before schema v2 carry no run, so this report leaves them out (\`tunnelmux history\` still lists them)`,
      );
    }
    const summary = store.summary();
    const empty = services.length === 0;
    if (options.json) {
      printJson({
        file: store.file,
        since,
        until,
        schema: { version: SCHEMA_VERSION, ...(migrated ? { migratedFrom: store.openedAt } : {}) },
        legacyRows: rows.legacyRows,
        runs: result.runs,
        empty,
        notes,
        services,
      });
      return;
    }
    for (const note of notes) process.stdout.write(`${colors.yellow(`note: ${note}`)}\n`);
    const range = `${stamp(since)} → ${stamp(until)}`;
    if (empty) {
      const held =
        summary.runs === 0
          ? 'it holds no run of tunnelmux up yet'
          : `it holds ${summary.runs} run(s) from ${stamp(summary.firstStart ?? 0)} to ${stamp(summary.lastEnd ?? 0)}`;
      process.stdout.write(
        `no history in ${range}${options.name ? ` for instance ${options.name}` : ''}${options.service ? ` for service ${options.service}` : ''}: tunnelmux up did not run then (${store.file}: ${held}); try a wider --since\n`,
      );
      return;
    }
    process.stdout.write(`${colors.dim(`${store.file}, ${range}, ${result.runs} run(s)`)}\n\n`);
    process.stdout.write(
      `${renderReport({ ...result, services })}\n\n${colors.dim(`days: ${BAR_LEGEND}`)}\n`,
    );
  } finally {
    store.close();
  }
}
