import type { HistoryStore } from '@tunnelmux/history';

type ComputeReport = typeof import('@tunnelmux/history').computeReport;

/** The report over [since, until] for one instance (or all), with its services narrowed to one when asked. */
export function reportRange(
  store: HistoryStore,
  computeReport: ComputeReport,
  range: { since: number; until: number; instance?: string; service?: string },
) {
  const rows = store.reportRows(range.since, range.until, range.instance);
  const result = computeReport({ ...rows, since: range.since, until: range.until });
  const services = range.service
    ? result.services.filter((s) => s.service === range.service)
    : result.services;
  return { rows, result, services };
}
