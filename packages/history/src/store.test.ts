import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BYTES, DEFAULT_RETENTION_MS } from './recorder';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from './schema';
import { HistoryStore } from './store';

const DAY = 86_400_000;
let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-history-'));
  file = path.join(dir, 'state', 'history.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function event(time: number, type = 'failover', extra: Record<string, unknown> = {}) {
  return {
    time,
    instance: 'i',
    run: null as string | null,
    service: 'default',
    type,
    path: 'a',
    event: { type, time, from: 'a', to: 'b', ...extra },
  };
}

describe('HistoryStore', () => {
  it('creates the file and its folder, in WAL mode, at the current schema version', () => {
    const store = HistoryStore.open(file);
    expect(store.openedAt).toBe(0);
    const db = store.database;
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(db.prepare('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION });
    expect((db.prepare('PRAGMA busy_timeout').get() as { timeout: number }).timeout).toBe(5000);
    store.close();
  });

  it('creates the file, its WAL and its folder for the owner only', () => {
    const store = HistoryStore.open(file);
    store.write({ events: [event(1)] });
    for (const name of [file, `${file}-wal`, `${file}-shm`])
      expect(statSync(name).mode & 0o777, name).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    store.close();
  });

  it('refuses to create a file when it must exist, naming where it looked', () => {
    expect(() => HistoryStore.open(file, { mustExist: true })).toThrow(
      `[tunnelmux] [history] no history file at ${file}`,
    );
  });

  it('migrates a file written by schema v1 and keeps its rows', () => {
    mkdirSync(path.dirname(file));
    const old = new DatabaseSync(file);
    migrate(old, 1);
    old
      .prepare(
        "INSERT INTO events (time, instance, service, type, path, event) VALUES (5, 'i', 'default', 'failover', 'a', '{}')",
      )
      .run();
    old.close();
    const store = HistoryStore.open(file);
    expect(store.openedAt).toBe(1);
    expect(store.events().map((row) => [row.time, row.type, row.run])).toEqual([[5, 'failover', null]]);
    const run = store.beginRun('i', 10);
    store.write({ events: [{ ...event(20), run }] });
    const rows = store.reportRows(0, 100);
    expect(rows.runs.map((r) => r.id)).toEqual([run]);
    expect(rows.events).toHaveLength(1);
    expect(rows.legacyRows).toBe(1);
    store.close();
    // Opened again, nothing is left to migrate.
    const again = HistoryStore.open(file);
    expect(again.openedAt).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('refuses a file from a newer schema, clearly, and leaves it untouched', () => {
    HistoryStore.open(file).close();
    const db = new DatabaseSync(file);
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => HistoryStore.open(file)).toThrow(
      new RegExp(
        `has history schema v${SCHEMA_VERSION + 1}, newer than v${SCHEMA_VERSION}.*upgrade tunnelmux`,
      ),
    );
    const check = new DatabaseSync(file);
    expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: SCHEMA_VERSION + 1 });
    check.close();
  });

  it('filters events by time, type, service and path, newest last, and limits to the newest', () => {
    const store = HistoryStore.open(file);
    store.write({
      events: [
        event(1),
        { ...event(2, 'state-change', { from: 'connecting', to: 'b', pathId: 'b' }), path: 'b' },
        { ...event(2, 'state-change', { from: 'b', to: 'connected', pathId: 'c' }), path: 'c' },
        { ...event(3), service: 'web' },
        event(4),
      ],
    });
    expect(store.events({ since: 2 }).map((r) => r.time)).toEqual([2, 2, 3, 4]);
    expect(store.events({ until: 2 }).map((r) => r.time)).toEqual([1, 2, 2]);
    expect(store.events({ types: ['failover'] }).map((r) => r.time)).toEqual([1, 3, 4]);
    expect(store.events({ service: 'web' }).map((r) => r.time)).toEqual([3]);
    // A failover names both paths; a state change's from/to are states, not paths.
    expect(store.events({ path: 'b' }).map((r) => r.time)).toEqual([1, 2, 3, 4]);
    expect(store.events({ limit: 2 }).map((r) => r.time)).toEqual([3, 4]);
    expect(store.events({ afterId: store.lastEventId() - 1 }).map((r) => r.time)).toEqual([4]);
    store.close();
  });

  it('retention deletes rows older than it and keeps the rest', () => {
    const store = HistoryStore.open(file);
    const now = 100 * DAY;
    const run = store.beginRun('i', now - 40 * DAY);
    store.write({ run: { id: run, lastSeen: now - 31 * DAY } });
    const recent = store.beginRun('i', now - 2 * DAY);
    store.write({
      events: [event(now - 31 * DAY), event(now - 29 * DAY), event(now - 1)],
      samples: [sampleAt(now - 31 * DAY), sampleAt(now - 29 * DAY)],
      run: { id: recent, lastSeen: now },
    });
    const result = store.prune({ now, retentionMs: DEFAULT_RETENTION_MS, maxBytes: DEFAULT_MAX_BYTES });
    expect(result).toMatchObject({ events: 1, samples: 1, runs: 1 });
    expect(store.events().map((r) => r.time)).toEqual([now - 29 * DAY, now - 1]);
    expect(store.reportRows(0, now).runs.map((r) => r.id)).toEqual([recent]);
    store.close();
  });

  it('the size cap deletes the oldest rows first until the data fits', () => {
    const store = HistoryStore.open(file);
    const pad = 'x'.repeat(400);
    const rows = Array.from({ length: 3000 }, (_, i) => event(1000 + i, 'warning', { message: pad }));
    store.write({ events: rows });
    const before = store.usedBytes();
    expect(before).toBeGreaterThan(1_000_000);
    const result = store.prune({ now: 5000, retentionMs: DEFAULT_RETENTION_MS, maxBytes: 300_000 });
    expect(result.bytes).toBeLessThanOrEqual(300_000);
    const left = store.events().map((r) => r.time);
    expect(left.length).toBeGreaterThan(100);
    expect(left.length).toBeLessThan(3000);
    // What is left is the newest, without a hole.
    expect(left.at(-1)).toBe(3999);
    expect(left[0]).toBe(4000 - left.length);
    store.close();
  });
});

function sampleAt(minute: number) {
  return {
    minute,
    instance: 'i',
    run: null,
    service: 'default',
    path: 'a',
    probes: 30,
    failures: 0,
    latMin: 1,
    latP50: 2,
    latP99: 3,
    latMax: 4,
    bytesIn: 0,
    bytesOut: 0,
    connections: 0,
  };
}
