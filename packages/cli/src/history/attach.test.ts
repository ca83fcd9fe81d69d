import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { TunnelmuxEvent } from '@tunnelmux/core';
import { HistoryStore, SCHEMA_VERSION } from '@tunnelmux/history';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../config/schema';
import { attachHistory } from './attach';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-attach-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for `manager.events`. */
function events() {
  const listeners = new Set<(event: TunnelmuxEvent) => void>();
  return {
    on(listener: (event: TunnelmuxEvent) => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    emit(event: TunnelmuxEvent) {
      for (const listener of listeners) listener(event);
    },
    get size() {
      return listeners.size;
    },
  };
}

const loaded = (config: Partial<Config>) => ({ dir, config: { paths: [], ...config } as Config });
const failover = (): TunnelmuxEvent => ({
  type: 'failover',
  time: Date.now(),
  seq: 1,
  from: 'a',
  to: 'b',
  reason: 'x',
});

describe('attachHistory (what up does)', () => {
  it('records into state: (relative to the config) and marks the run stopped on close', async () => {
    const source = events();
    const notes: string[] = [];
    const attached = await attachHistory(source, loaded({ state: 'st' }), 'devbox', (text) =>
      notes.push(text),
    );
    expect(attached?.file).toBe(path.join(dir, 'st', 'history.sqlite'));
    source.emit(failover());
    attached?.close();
    expect(source.size).toBe(0);
    const store = HistoryStore.open(path.join(dir, 'st', 'history.sqlite'), { mustExist: true });
    expect(store.events()).toMatchObject([{ type: 'failover', instance: 'devbox' }]);
    expect(store.reportRows(0, Date.now() + 1000).runs).toMatchObject([
      { instance: 'devbox', stopped: expect.any(Number) },
    ]);
    store.close();
    expect(notes).toEqual([]);
  });

  it('records nothing with history: { enabled: false }', async () => {
    const source = events();
    expect(
      await attachHistory(source, loaded({ state: 'st', history: { enabled: false } }), 'x', () => {}),
    ).toBeUndefined();
    expect(source.size).toBe(0);
  });

  it('runs without history, saying why, when the file is from a newer tunnelmux', async () => {
    const file = path.join(dir, 'newer.sqlite');
    HistoryStore.open(file).close();
    const db = new DatabaseSync(file);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const notes: string[] = [];
    const source = events();
    expect(
      await attachHistory(source, loaded({ state: file }), 'x', (text) => notes.push(text)),
    ).toBeUndefined();
    expect(source.size).toBe(0);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/newer than v\d+ that this tunnelmux reads.*; running without history$/);
  });
});
