import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { TunnelmuxError } from '@tunnelmux/core';
import type { EventRow, RunRow, SampleRow } from './rows';
import { migrate, SCHEMA_VERSION, schemaVersion } from './schema';

// Event types whose `from` and `to` name paths (a state change's name states).
export const PATH_PAIR_TYPES = ['failover', 'primary-change', 'session-resumed'];
const BETWEEN_PATHS = PATH_PAIR_TYPES.map((type) => `'${type}'`).join(', ');

/** An error about the history file: `[tunnelmux] [history] …`, with the cause kept. */
export class HistoryError extends TunnelmuxError {
  override name = 'HistoryError';
  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(`[tunnelmux] [history] ${message}`, { code: options.code ?? 'ERR_HISTORY', cause: options.cause });
  }
}

export interface OpenOptions {
  /** How long a write waits for another process holding the file's lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Open an existing file without creating it. */
  mustExist?: boolean;
}

/** What a flush writes, all in one transaction. */
export interface Batch {
  events?: Omit<EventRow, 'id'>[];
  /** Upserted by (run, instance, service, path, minute): a minute in progress is rewritten as it fills. */
  samples?: SampleRow[];
  /** The run's heartbeat (and, on close, its end). */
  run?: { id: string; lastSeen: number; stopped?: number };
}

export interface EventQuery {
  since?: number;
  until?: number;
  instance?: string;
  service?: string;
  path?: string;
  types?: readonly string[];
  /** Only rows written after this id (for following). */
  afterId?: number;
  /** At most this many, the newest ones (still returned oldest first). */
  limit?: number;
}

export interface PruneOptions {
  now: number;
  /** Rows older than this are deleted. */
  retentionMs: number;
  /** Then the oldest rows go until the file's used pages fit in this many bytes. */
  maxBytes: number;
}

export interface PruneResult {
  events: number;
  samples: number;
  runs: number;
  /** Used bytes after pruning. */
  bytes: number;
}

/** Rows a report needs: runs overlapping the range, their events from the run's start, and samples in range. */
export interface ReportRows {
  runs: RunRow[];
  events: EventRow[];
  samples: SampleRow[];
  /** Rows written by a schema without runs (before v2): kept, but not placed in time by a report. */
  legacyRows: number;
}

/**
 * The history file: SQLite through `node:sqlite`, WAL, a versioned schema migrated on open. Several processes may
 * share one file; rows carry the instance name and writers wait `busyTimeoutMs` for each other.
 */
export class HistoryStore {
  readonly file: string;
  /** The file's schema version before this open migrated it; equal to `version` when nothing was needed. */
  readonly openedAt: number;
  readonly version = SCHEMA_VERSION;
  readonly #db: DatabaseSync;
  readonly #insertEvent: StatementSync;
  readonly #upsertSample: StatementSync;
  readonly #touchRun: StatementSync;
  #closed = false;

  private constructor(file: string, db: DatabaseSync, openedAt: number) {
    this.file = file;
    this.#db = db;
    this.openedAt = openedAt;
    this.#insertEvent = db.prepare(
      'INSERT INTO events (time, instance, run, service, type, path, event) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#upsertSample = db.prepare(
      `INSERT INTO samples (minute, instance, run, service, path, probes, failures, lat_min, lat_p50, lat_p99,
         lat_max, bytes_in, bytes_out, connections) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run, instance, service, path, minute) DO UPDATE SET probes = excluded.probes,
         failures = excluded.failures, lat_min = excluded.lat_min, lat_p50 = excluded.lat_p50,
         lat_p99 = excluded.lat_p99, lat_max = excluded.lat_max, bytes_in = excluded.bytes_in,
         bytes_out = excluded.bytes_out, connections = excluded.connections`,
    );
    this.#touchRun = db.prepare('UPDATE runs SET last_seen = ?, stopped = coalesce(?, stopped) WHERE id = ?');
  }

  /** Open (creating it and its folder unless `mustExist`) and migrate; refuses a file from a newer schema. */
  static open(file: string, options: OpenOptions = {}): HistoryStore {
    const resolved = path.resolve(file);
    if (options.mustExist && !existsSync(resolved)) {
      throw new HistoryError(`no history file at ${resolved}`, { code: 'ERR_HISTORY_MISSING' });
    }
    if (!options.mustExist) mkdirSync(path.dirname(resolved), { recursive: true, mode: 0o700 });
    const creating = !existsSync(resolved);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(resolved);
      // Owner only: events name hosts, addresses and errors. SQLite gives the -wal and -shm files the same mode.
      if (creating) chmodSync(resolved, 0o600);
    } catch (error) {
      throw new HistoryError(`cannot open the history file ${resolved}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
      const found = schemaVersion(db);
      if (found > SCHEMA_VERSION) {
        throw new HistoryError(
          `${resolved} has history schema v${found}, newer than v${SCHEMA_VERSION} that this tunnelmux reads; upgrade tunnelmux, or point state: at another file`,
          { code: 'ERR_HISTORY_NEWER' },
        );
      }
      // Set before the first table exists, so pruning can hand freed pages back to the file system.
      if (found === 0) db.exec('PRAGMA auto_vacuum = INCREMENTAL');
      // WAL: readers never block the writer, and a killed writer loses only its open transaction.
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      migrate(db);
      return new HistoryStore(resolved, db, found);
    } catch (error) {
      db.close();
      if (error instanceof HistoryError) throw error;
      throw new HistoryError(`cannot use the history file ${resolved}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Start a run for `instance`; its id goes on every row the run writes. */
  beginRun(instance: string, started: number, pid = process.pid): string {
    const id = `${started.toString(36)}-${pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.#db
      .prepare('INSERT INTO runs (id, instance, pid, started, last_seen) VALUES (?, ?, ?, ?, ?)')
      .run(id, instance, pid, started, started);
    return id;
  }

  /** Write one batch in one transaction: all of it, or (killed midway) none of it. */
  write(batch: Batch): void {
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      for (const row of batch.events ?? []) {
        this.#insertEvent.run(
          row.time,
          row.instance,
          row.run,
          row.service,
          row.type,
          row.path,
          JSON.stringify(row.event),
        );
      }
      for (const s of batch.samples ?? []) {
        this.#upsertSample.run(
          s.minute,
          s.instance,
          s.run,
          s.service,
          s.path,
          s.probes,
          s.failures,
          s.latMin,
          s.latP50,
          s.latP99,
          s.latMax,
          s.bytesIn,
          s.bytesOut,
          s.connections,
        );
      }
      if (batch.run) this.#touchRun.run(batch.run.lastSeen, batch.run.stopped ?? null, batch.run.id);
      this.#db.exec('COMMIT');
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw new HistoryError(`cannot write to ${this.file}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Events matching the query, oldest first. */
  events(query: EventQuery = {}): EventRow[] {
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    const add = (clause: string, ...values: SQLInputValue[]) => {
      where.push(clause);
      args.push(...values);
    };
    if (query.since !== undefined) add('time >= ?', query.since);
    if (query.until !== undefined) add('time <= ?', query.until);
    if (query.instance !== undefined) add('instance = ?', query.instance);
    if (query.service !== undefined) add('service = ?', query.service);
    // A failover or primary change is about both paths it names.
    if (query.path !== undefined)
      add(
        `(path = ? OR (type IN (${BETWEEN_PATHS}) AND (json_extract(event, '$.from') = ? OR json_extract(event, '$.to') = ?)))`,
        query.path,
        query.path,
        query.path,
      );
    if (query.afterId !== undefined) add('id > ?', query.afterId);
    if (query.types && query.types.length > 0)
      add(`type IN (${query.types.map(() => '?').join(', ')})`, ...query.types);
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const limit = query.limit !== undefined ? `LIMIT ${Math.max(0, Math.trunc(query.limit))}` : '';
    const rows = this.#db
      .prepare(
        `SELECT * FROM (SELECT id, time, instance, run, service, type, path, event FROM events ${filter}
         ORDER BY time DESC, id DESC ${limit}) ORDER BY time, id`,
      )
      .all(...args);
    return rows.map(toEventRow);
  }

  /** What `computeReport` needs for [since, until]. */
  reportRows(since: number, until: number, instance?: string): ReportRows {
    const byInstance = instance === undefined ? '' : 'AND instance = ?';
    const extra = instance === undefined ? [] : [instance];
    const runs = this.#db
      .prepare(
        `SELECT id, instance, pid, started, last_seen, stopped FROM runs
         WHERE started <= ? AND coalesce(stopped, last_seen) >= ? ${byInstance} ORDER BY started`,
      )
      .all(until, since, ...extra)
      .map(toRunRow);
    const ids = runs.map((run) => run.id);
    const inRuns = `run IN (${ids.map(() => '?').join(', ')})`;
    const events =
      ids.length === 0
        ? []
        : this.#db
            .prepare(
              `SELECT id, time, instance, run, service, type, path, event FROM events
               WHERE ${inRuns} AND time <= ? ORDER BY time, id`,
            )
            .all(...ids, until)
            .map(toEventRow);
    const samples =
      ids.length === 0
        ? []
        : this.#db
            .prepare(`SELECT * FROM samples WHERE ${inRuns} AND minute >= ? AND minute <= ? ORDER BY minute`)
            .all(...ids, since - 60_000, until)
            .map(toSampleRow);
    const legacy = this.#db
      .prepare(
        `SELECT (SELECT count(*) FROM events WHERE run IS NULL) + (SELECT count(*) FROM samples WHERE run IS NULL) AS n`,
      )
      .get() as { n: number };
    return { runs, events, samples, legacyRows: legacy.n };
  }

  /** What the file holds overall, to say why a range is empty. */
  summary(): { runs: number; firstStart: number | null; lastEnd: number | null; events: number } {
    const row = this.#db
      .prepare(
        `SELECT count(*) AS runs, min(started) AS first, max(coalesce(stopped, last_seen)) AS last,
           (SELECT count(*) FROM events) AS events FROM runs`,
      )
      .get() as { runs: number; first: number | null; last: number | null; events: number };
    return { runs: row.runs, firstStart: row.first, lastEnd: row.last, events: row.events };
  }

  /** The newest event id (0 when there is none), to follow from. */
  lastEventId(): number {
    const row = this.#db.prepare('SELECT coalesce(max(id), 0) AS id FROM events').get() as { id: number };
    return row.id;
  }

  /** Bytes in pages that hold data (the file may be larger by pages freed and not yet returned). */
  usedBytes(): number {
    const get = (pragma: string) =>
      Object.values(this.#db.prepare(`PRAGMA ${pragma}`).get() ?? {})[0] as number;
    return (get('page_count') - get('freelist_count')) * get('page_size');
  }

  /** Delete rows past retention, then the oldest rows until the data fits in `maxBytes`, all at once. */
  prune(options: PruneOptions): PruneResult {
    const result = { events: 0, samples: 0, runs: 0, bytes: 0 };
    // Bounded: each step deletes rows or reports done.
    for (let step = 0; step < 1_000_000 && !this.pruneStep(options, 5000, result); step++);
    result.bytes = this.usedBytes();
    return result;
  }

  /**
   * One bounded step of pruning: at most `rows` rows per table, in one transaction. Returns true once nothing more
   * is due. A writer calls it a step per turn of the event loop, so pruning a large backlog never stalls it.
   */
  pruneStep({ now, retentionMs, maxBytes }: PruneOptions, rows = 2000, result?: PruneResult): boolean {
    const limit = Math.max(1, Math.trunc(rows));
    const cutoff = now - retentionMs;
    const expired = this.#deleteUpTo(cutoff - 1, limit, result);
    if (expired.events === limit || expired.samples === limit) return false;
    if (this.usedBytes() <= maxBytes) {
      this.#db.exec('PRAGMA incremental_vacuum');
      return true;
    }
    // About as many rows as the excess is a share of the data (ids give the counts cheaply), at most `limit`.
    const used = this.usedBytes();
    const span = (table: string) => {
      const row = this.#db.prepare(`SELECT max(id) - min(id) + 1 AS n FROM ${table}`).get() as {
        n: number | null;
      };
      return row.n ?? 0;
    };
    const share = (used - maxBytes * 0.9) / used;
    const count = Math.min(limit, Math.max(1, Math.ceil((span('events') + span('samples')) * share)));
    // Oldest first across both tables: the `count`-th oldest time of each, and the earlier of the two.
    const nth = (sql: string) => (this.#db.prepare(sql).get(count - 1) as { t: number } | undefined)?.t;
    const inEvents = nth('SELECT time AS t FROM events ORDER BY time LIMIT 1 OFFSET ?');
    const inSamples = nth('SELECT minute AS t FROM samples ORDER BY minute LIMIT 1 OFFSET ?');
    const upTo = Math.min(inEvents ?? Number.MAX_SAFE_INTEGER, inSamples ?? Number.MAX_SAFE_INTEGER);
    const cut = this.#deleteUpTo(upTo, limit, result);
    this.#db.exec('PRAGMA incremental_vacuum');
    return cut.events + cut.samples === 0 || this.usedBytes() <= maxBytes;
  }

  /** Delete at most `limit` rows per table at or before `time` (oldest first), and runs that ended by then. */
  #deleteUpTo(time: number, limit: number, result?: PruneResult): { events: number; samples: number } {
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      const events = Number(
        this.#db
          .prepare(
            'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time <= ? ORDER BY time LIMIT ?)',
          )
          .run(time, limit).changes,
      );
      const samples = Number(
        this.#db
          .prepare(
            'DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE minute <= ? ORDER BY minute LIMIT ?)',
          )
          .run(time, limit).changes,
      );
      const runs = Number(
        this.#db.prepare('DELETE FROM runs WHERE coalesce(stopped, last_seen) <= ?').run(time).changes,
      );
      this.#db.exec('COMMIT');
      if (result) {
        result.events += events;
        result.samples += samples;
        result.runs += runs;
      }
      return { events, samples };
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw new HistoryError(`cannot prune ${this.file}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Run SQL for tests and tools that need something this API does not offer. */
  get database(): DatabaseSync {
    return this.#db;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}

function toEventRow(row: Record<string, SQLInputValue>): EventRow {
  return {
    id: Number(row.id),
    time: Number(row.time),
    instance: String(row.instance),
    run: row.run === null ? null : String(row.run),
    service: String(row.service),
    type: String(row.type),
    path: row.path === null ? null : String(row.path),
    event: JSON.parse(String(row.event)) as Record<string, unknown>,
  };
}

function toRunRow(row: Record<string, SQLInputValue>): RunRow {
  return {
    id: String(row.id),
    instance: String(row.instance),
    pid: row.pid === null ? null : Number(row.pid),
    started: Number(row.started),
    lastSeen: Number(row.last_seen),
    stopped: row.stopped === null ? null : Number(row.stopped),
  };
}

const num = (value: SQLInputValue | undefined) =>
  value === null || value === undefined ? null : Number(value);

function toSampleRow(row: Record<string, SQLInputValue>): SampleRow {
  return {
    minute: Number(row.minute),
    instance: String(row.instance),
    run: row.run === null ? null : String(row.run),
    service: String(row.service),
    path: String(row.path),
    probes: Number(row.probes),
    failures: Number(row.failures),
    latMin: num(row.lat_min),
    latP50: num(row.lat_p50),
    latP99: num(row.lat_p99),
    latMax: num(row.lat_max),
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
    connections: Number(row.connections),
  };
}
