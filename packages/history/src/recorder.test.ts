import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import type { TunnelmuxEvent } from '@tunnelmux/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION_MS, type RecordableEvent, Recorder } from './recorder';
import { HistoryStore } from './store';

const DAY = 86_400_000;
let dir: string;
let store: HistoryStore;
const recorders: Recorder[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-recorder-'));
  store = HistoryStore.open(path.join(dir, 'history.sqlite'));
});
afterEach(() => {
  for (const recorder of recorders.splice(0)) recorder.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function recorder(options: Partial<ConstructorParameters<typeof Recorder>[0]> = {}): Recorder {
  // Long intervals: these tests flush by hand.
  const r = new Recorder({
    store,
    instance: 'i',
    flushIntervalMs: 3_600_000,
    pruneIntervalMs: 3_600_000,
    ...options,
  });
  recorders.push(r);
  return r;
}

/** A stand-in for core's `manager.events`: `on(listener)`, and `emit` for the test. */
function source() {
  const listeners = new Set<(event: RecordableEvent) => void>();
  return {
    on(listener: (event: TunnelmuxEvent) => void) {
      const l = listener as unknown as (event: RecordableEvent) => void;
      listeners.add(l);
      return () => {
        listeners.delete(l);
      };
    },
    emit(event: RecordableEvent) {
      for (const listener of listeners) listener(event);
    },
    get size() {
      return listeners.size;
    },
  };
}

const probe = (time: number, pathId: string, ok: boolean, latencyMs?: number): RecordableEvent => ({
  type: 'probe',
  time,
  pathId,
  provider: 'local',
  ok,
  latencyMs,
  consecutiveFailures: 0,
});

describe('Recorder', () => {
  it('queues on the event callback and writes only when it flushes', () => {
    const events = source();
    const r = recorder({ now: () => 1000 }).attach(events);
    events.emit({ type: 'failover', time: 1000, seq: 1, from: 'a', to: 'b', reason: 'down' });
    expect(store.events()).toEqual([]);
    r.flush();
    expect(store.events()).toMatchObject([{ type: 'failover', path: 'a', run: r.run, service: 'default' }]);
  });

  it('keeps every event that matters, including types it does not know, and leaves out probes and debug logs', () => {
    const events = source();
    const r = recorder({ now: () => 5000 }).attach(events);
    const kept: RecordableEvent[] = [
      { type: 'state-change', time: 1, pathId: 'a', from: 'connecting', to: 'connected', reason: '' },
      { type: 'primary-change', time: 2, to: 'a', reason: 'initial' },
      { type: 'reconnecting', time: 3, pathId: 'a', attempt: 1, delayMs: 100, reason: 'exit' },
      { type: 'error', time: 4, message: 'bad token', fatal: true, code: 'ERR_AUTH' },
      { type: 'session-lost', time: 5, session: 'ab', reason: 'reset', message: 'x' },
      { type: 'session-resumed', time: 6, session: 'ab', from: 'a', to: 'b', stallMs: 5, replayedBytes: 0 },
      { type: 'config-reloaded', time: 7, service: 'web', added: ['c'] },
      { type: 'hook-failed', time: 8, hook: 'notify', message: 'exit 1' },
      { type: 'log', time: 9, pathId: 'a', level: 'warn', message: 'slow' },
    ];
    for (const event of kept) events.emit(event);
    events.emit({ type: 'log', time: 10, pathId: 'a', level: 'debug', message: 'chatter' });
    events.emit(probe(11, 'a', true, 5));
    events.emit({ type: 'metrics', time: 12, snapshot: { paths: [] } });
    r.flush();
    const rows = store.events();
    expect(rows.map((row) => row.type)).toEqual(kept.map((event) => event.type));
    expect(rows.find((row) => row.type === 'config-reloaded')?.service).toBe('web');
    expect(rows.find((row) => row.type === 'session-resumed')?.path).toBe('a');
    expect(rows[0]?.event).toEqual(kept[0]);
  });

  it('folds probes and metrics into per-minute samples per path', () => {
    const events = source();
    const minute = 60_000 * 1000;
    const r = recorder({ now: () => minute + 59_000 }).attach(events);
    for (const [i, latency] of [5, 1, 9, 3, 7].entries())
      events.emit(probe(minute + i * 1000, 'a', true, latency));
    events.emit(probe(minute + 6000, 'a', false));
    events.emit(probe(minute + 7000, 'b', true, 2));
    const snap = (time: number, bytesIn: number, bytesOut: number, total: number) => ({
      type: 'metrics',
      time,
      snapshot: { paths: [{ id: 'a', bytesIn, bytesOut, totalConnections: total }] },
    });
    events.emit(snap(minute + 1000, 100, 50, 2));
    events.emit(snap(minute + 30_000, 400, 80, 5));
    r.flush();
    const rows = store.database.prepare('SELECT * FROM samples ORDER BY path').all();
    expect(rows).toMatchObject([
      {
        path: 'a',
        minute,
        probes: 6,
        failures: 1,
        lat_min: 1,
        lat_p50: 5,
        lat_p99: 9,
        lat_max: 9,
        bytes_in: 400,
        bytes_out: 80,
        connections: 5,
      },
      { path: 'b', probes: 1, failures: 0, lat_p50: 2 },
    ]);
  });

  it('rewrites the minute in progress as it fills, then lets a finished minute go', () => {
    const events = source();
    let now = 120_000;
    const r = recorder({ now: () => now }).attach(events);
    events.emit(probe(120_000, 'a', true, 4));
    r.flush();
    events.emit(probe(121_000, 'a', true, 8));
    r.flush();
    now = 185_000;
    events.emit(probe(181_000, 'a', true, 1));
    r.flush();
    r.flush();
    const rows = store.database.prepare('SELECT minute, probes, lat_max FROM samples ORDER BY minute').all();
    expect(rows).toEqual([
      { minute: 120_000, probes: 2, lat_max: 8 },
      { minute: 180_000, probes: 1, lat_max: 1 },
    ]);
  });

  it('flushes early, on the next turn, once flushRows are queued', async () => {
    const events = source();
    recorder({ flushRows: 3 }).attach(events);
    for (let i = 0; i < 3; i++) events.emit({ type: 'warning', time: i, message: `w${i}` });
    expect(store.events()).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.events()).toHaveLength(3);
  });

  it('writes a large flush in batches of batchRows, one per turn of the event loop', async () => {
    const events = source();
    const r = recorder({ batchRows: 100 }).attach(events);
    const t0 = Date.now();
    for (let i = 0; i < 250; i++) events.emit({ type: 'warning', time: t0 + i, message: `w${i}` });
    r.flush();
    expect(store.events()).toHaveLength(100);
    expect(r.pendingBatches).toBe(2);
    await expect.poll(() => store.events().length).toBe(250);
    expect(store.events().map((row) => row.time - t0)).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('keeps the batch when the file is locked, reports it once, and writes it when the lock goes', async () => {
    const errors: Error[] = [];
    const events = source();
    const locked = HistoryStore.open(store.file, { busyTimeoutMs: 0 });
    const r = new Recorder({
      store: locked,
      instance: 'i',
      flushIntervalMs: 3_600_000,
      onError: (e) => errors.push(e),
    });
    recorders.push(r);
    r.attach(events);
    const other = new DatabaseSync(store.file);
    other.exec('BEGIN EXCLUSIVE');
    const t0 = Date.now();
    events.emit({ type: 'warning', time: t0 + 1, message: 'one' });
    r.flush();
    events.emit({ type: 'warning', time: t0 + 2, message: 'two' });
    r.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/^\[tunnelmux\] \[history\] cannot write to .*locked/);
    other.exec('ROLLBACK');
    other.close();
    r.flush();
    await expect.poll(() => store.events().map((row) => row.time - t0)).toEqual([1, 2]);
    r.close();
    locked.close();
  });

  it('close stops listening, writes the rest and marks the run stopped', () => {
    const events = source();
    let now = 1000;
    const r = recorder({ now: () => now }).attach(events);
    events.emit({ type: 'warning', time: 1000, message: 'last words' });
    now = 2000;
    r.close();
    expect(events.size).toBe(0);
    expect(store.events()).toHaveLength(1);
    expect(store.reportRows(0, 5000).runs).toMatchObject([
      { id: r.run, started: 1000, lastSeen: 2000, stopped: 2000 },
    ]);
  });

  it('holds 30 days by default under a simulated clock', async () => {
    const events = source();
    const start = 1000 * DAY;
    let now = start;
    const r = recorder({ now: () => now }).attach(events);
    events.emit({ type: 'warning', time: start, message: 'day 0' });
    r.flush();
    now = start + 20 * DAY;
    events.emit({ type: 'warning', time: now, message: 'day 20' });
    r.flush();
    now = start + DEFAULT_RETENTION_MS - 1;
    await r.prune();
    expect(store.events().map((row) => row.event.message)).toEqual(['day 0', 'day 20']);
    now = start + 31 * DAY;
    await r.prune();
    expect(store.events().map((row) => row.event.message)).toEqual(['day 20']);
  });
});

describe('pruning a backlog', () => {
  it('deletes a step at a time, letting the event loop run between steps', async () => {
    const DAY_AGO = Date.now() - 40 * DAY;
    store.write({
      events: Array.from({ length: 5000 }, (_, i) => ({
        time: DAY_AGO + i,
        instance: 'i',
        run: null,
        service: 'default',
        type: 'warning',
        path: null,
        event: { type: 'warning', message: 'old' },
      })),
    });
    const r = recorder({ pruneRows: 1000 });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const steps: number[] = [];
    const step = store.pruneStep.bind(store);
    store.pruneStep = (...args) => {
      steps.push(ticks);
      return step(...args);
    };
    await r.prune();
    clearInterval(ticker);
    expect(store.events()).toHaveLength(0);
    // Five full steps and one that finds nothing left, spread over turns of the event loop.
    expect(steps).toHaveLength(6);
    expect(new Set(steps).size).toBeGreaterThan(1);
  });
});

describe('a recorder killed with SIGKILL mid-write', () => {
  const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js');

  it('leaves a file that opens cleanly with every flushed batch whole', async () => {
    expect(
      existsSync(dist),
      `${dist} is missing: build first (pnpm turbo run build --filter=@tunnelmux/history)`,
    ).toBe(true);
    const file = path.join(dir, 'killed.sqlite');
    const script = path.join(dir, 'writer.mjs');
    // Flushes 200-row batches as fast as it can and says how many batches it finished.
    writeFileSync(
      script,
      `import { HistoryStore, Recorder } from ${JSON.stringify(dist)};
       const store = HistoryStore.open(${JSON.stringify(file)});
       const r = new Recorder({ store, instance: 'k', flushIntervalMs: 3600000, flushRows: 1e9, batchRows: 200 });
       let batch = 0;
       const tick = () => {
         for (let i = 0; i < 200; i++) r.record({ type: 'warning', time: Date.now(), message: 'b' + batch });
         r.flush();
         batch += 1;
         if (batch === 5) process.stdout.write('going\\n');
         setImmediate(tick);
       };
       tick();`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const reopened = HistoryStore.open(file);
    expect(reopened.database.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    const counts = reopened.database
      .prepare("SELECT json_extract(event, '$.message') AS batch, count(*) AS n FROM events GROUP BY batch")
      .all() as { n: number }[];
    expect(counts.length).toBeGreaterThanOrEqual(5);
    // Every batch is all there or not there at all.
    expect(counts.every((row) => row.n === 200)).toBe(true);
    reopened.close();
  });
});
