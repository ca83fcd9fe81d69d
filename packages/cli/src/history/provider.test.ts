import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeReport, HistoryStore } from '@tunnelmux/history';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { historyProvider } from './provider';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 30, 12);
let dir: string;
let store: HistoryStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-provider-'));
  store = HistoryStore.open(path.join(dir, 'history.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One run of `devbox` from 3 days ago until now: path a of service db up throughout, one failover an hour ago. */
function record(instance = 'devbox') {
  const started = NOW - 72 * HOUR;
  const run = store.beginRun(instance, started);
  const row = (time: number, type: string, event: Record<string, unknown>, pathId: string | null = null) => ({
    time,
    instance,
    run,
    service: 'db',
    type,
    path: pathId,
    event: { type, time, ...event },
  });
  store.write({
    events: [
      row(started + 1000, 'state-change', { pathId: 'a', from: 'connecting', to: 'connected' }, 'a'),
      row(NOW - HOUR, 'failover', { from: 'a', to: 'b' }),
    ],
    run: { id: run, lastSeen: NOW },
  });
}

describe('the history the dashboard serves', () => {
  it('answers the last day of events by default, and only this instance’s', () => {
    record();
    record('other');
    const provider = historyProvider(store, 'devbox', computeReport, () => NOW);
    expect(provider.history({}).events).toMatchObject([
      { type: 'failover', instance: 'devbox', service: 'db' },
    ]);
    expect(provider.history({ since: 0 }).events).toHaveLength(2);
    expect(provider.history({ since: 0, service: 'ssh' }).events).toEqual([]);
    expect(provider.history({ since: 0, limit: 1 }).events).toHaveLength(1);
  });

  it('answers a report whose days carry their service, for the page’s availability table', () => {
    record();
    const provider = historyProvider(store, 'devbox', computeReport, () => NOW);
    const report = provider.report({});
    expect(report.services.map((s) => s.service)).toEqual(['db']);
    expect(report.days.filter((d) => d.availability !== null).map((d) => d.day)).toEqual([
      '2026-11-27',
      '2026-11-28',
      '2026-11-29',
      '2026-11-30',
    ]);
    expect(report.days.every((d) => d.service === 'db')).toBe(true);
    expect(provider.report({ service: 'ssh' }).days).toEqual([]);
  });
});
