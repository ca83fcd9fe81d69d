import type { DatabaseSync } from 'node:sqlite';

/**
 * Each entry takes the file from version `index` to `index + 1`; the file's version is SQLite's `user_version`.
 * Append only: a shipped migration never changes, so any older file can be brought forward step by step.
 */
export const MIGRATIONS: readonly string[] = [
  // v1: events (the whole event as JSON, with the columns queries filter on) and per-minute path samples.
  `CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     time INTEGER NOT NULL,
     instance TEXT NOT NULL,
     service TEXT NOT NULL,
     type TEXT NOT NULL,
     path TEXT,
     event TEXT NOT NULL
   );
   CREATE INDEX events_time ON events (time);
   CREATE TABLE samples (
     id INTEGER PRIMARY KEY,
     minute INTEGER NOT NULL,
     instance TEXT NOT NULL,
     service TEXT NOT NULL,
     path TEXT NOT NULL,
     probes INTEGER NOT NULL,
     failures INTEGER NOT NULL,
     lat_min REAL,
     lat_p50 REAL,
     lat_p99 REAL,
     lat_max REAL,
     bytes_in INTEGER NOT NULL,
     bytes_out INTEGER NOT NULL,
     connections INTEGER NOT NULL
   );
   CREATE INDEX samples_minute ON samples (minute);`,
  // v2: runs. Each recorder start is a run with a heartbeat, so a report knows when tunnelmux was watching
  // (a SIGKILLed run ends at its last heartbeat) and replays each run's events from its own start.
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     instance TEXT NOT NULL,
     pid INTEGER,
     started INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     stopped INTEGER
   );
   CREATE INDEX runs_last_seen ON runs (last_seen);
   ALTER TABLE events ADD COLUMN run TEXT;
   ALTER TABLE samples ADD COLUMN run TEXT;
   CREATE INDEX events_run ON events (run, time);
   CREATE UNIQUE INDEX samples_key ON samples (run, instance, service, path, minute);`,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The file's schema version (0 for a new file). */
export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  return row.user_version;
}

/** Apply every migration from the file's version up to `target`, each in its own transaction. */
export function migrate(db: DatabaseSync, target = SCHEMA_VERSION): void {
  for (let version = schemaVersion(db); version < target; version++) {
    try {
      db.exec('BEGIN IMMEDIATE');
      // Re-read inside the write lock: another process sharing the file may have migrated it meanwhile.
      if (schemaVersion(db) !== version) {
        db.exec('ROLLBACK');
        version = schemaVersion(db) - 1;
        continue;
      }
      db.exec(MIGRATIONS[version] as string);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }
}
