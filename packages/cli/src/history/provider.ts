// Types only: the dashboard package itself is loaded lazily, and only when asked for.
import type { HistoryProvider, HistoryQuery } from '@tunnelmux/dashboard';
import type { HistoryStore } from '@tunnelmux/history';
import { reportRange } from './report-range';

const DAY_MS = 24 * 60 * 60 * 1000;
// A page asking for everything still gets a bounded answer.
const MAX_EVENTS = 1000;

/**
 * The dashboard's view of this instance's history, read from the same file `up` records into: events as
 * `tunnelmux history --json` prints them, and the report with every service's days flattened for the page.
 */
export function historyProvider(
  store: HistoryStore,
  instance: string,
  computeReport: typeof import('@tunnelmux/history').computeReport,
  now: () => number = Date.now,
) {
  return {
    // An object, as the API's OpenAPI document says, so later fields can join the events.
    history(query: HistoryQuery) {
      const until = query.until ?? now();
      const events = store.events({
        instance,
        service: query.service,
        path: query.path,
        since: query.since ?? until - DAY_MS,
        until,
        limit: Math.min(query.limit ?? MAX_EVENTS, MAX_EVENTS),
      });
      return { events };
    },
    report(query: HistoryQuery) {
      const until = query.until ?? now();
      const since = query.since ?? until - 7 * DAY_MS;
      const { result, services } = reportRange(store, computeReport, {
        since,
        until,
        instance,
        service: query.service,
      });
      return {
        ...result,
        services,
        days: services.flatMap((s) => s.days.map((day) => ({ ...day, service: s.service }))),
      };
    },
  } satisfies HistoryProvider;
}
