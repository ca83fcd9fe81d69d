import type { TunnelmuxEvent } from '@tunnelmux/core';
import { percentile } from './percentile';
import type { EventRow, SampleRow } from './rows';
import { type Batch, HistoryError, type HistoryStore, PATH_PAIR_TYPES } from './store';

/** 30 days. */
export const DEFAULT_RETENTION_MS = 30 * 24 * 3_600_000;
/** 100 MB, counted as `bytes` parses "100MB" (MiB). */
export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;

/** The event shape the recorder reads: core's events, plus types it has not heard of (kept as they come). */
export interface RecordableEvent {
  type: string;
  time: number;
  seq?: number;
  service?: string;
  pathId?: string;
  [field: string]: unknown;
}

/** Anything with core's `Manager.events.on` shape; types it does not declare are recorded too. */
export interface EventSource {
  on(listener: (event: TunnelmuxEvent) => void): () => void;
}

export interface RecorderOptions {
  store: HistoryStore;
  /** The instance name every row carries (several instances may share one file). */
  instance: string;
  /** Flush queued rows this often (default 1000 ms). */
  flushIntervalMs?: number;
  /** Flush early once this many rows are queued (default 500). */
  flushRows?: number;
  /** Rows per transaction (default 100): a flush of more is written over several turns of the event loop. */
  batchRows?: number;
  /** Prune this often (default every 10 min, and once at start). */
  pruneIntervalMs?: number;
  retentionMs?: number;
  maxBytes?: number;
  /** Rows deleted per table per pruning step, one step per turn of the event loop (default 1000). */
  pruneRows?: number;
  /** Rows held while the file cannot be written (busy, disk full) before the oldest are dropped (default 100000). */
  maxQueued?: number;
  /** The clock (tests simulate one). */
  now?: () => number;
  /** Told once per burst of failed writes or prunes; the recorder never throws into the event stream. */
  onError?: (error: Error) => void;
}

// Probes and metrics become per-minute samples; debug chatter is not history. Every other type is kept,
// including ones this build does not know (config-reloaded, hook-failed, ...).
const NOT_EVENTS = new Set(['probe', 'metrics']);
const KEPT_LOG_LEVELS = new Set(['warn', 'error']);
// Per path per minute; enough for p99 at any sane probe interval, bounded at absurd ones.
const MAX_LATENCIES = 1024;

interface Bucket {
  service: string;
  path: string;
  minute: number;
  probes: number;
  failures: number;
  latencies: number[];
  bytesIn: number;
  bytesOut: number;
  connections: number;
  dirty: boolean;
}

interface Totals {
  bytesIn: number;
  bytesOut: number;
  connections: number;
}

interface SnapshotPath {
  id: string;
  bytesIn: number;
  bytesOut: number;
  totalConnections: number;
}

/**
 * Records a manager's events into a history store. An event callback only queues (an array push or a counter
 * update); rows reach the file from a timer, in transactions of at most `batchRows`, so a SIGKILL loses at most
 * what was queued since the last flush and never leaves half a batch.
 */
export class Recorder {
  readonly run: string;
  /** Rows dropped because the file could not be written for a long time. */
  dropped = 0;
  readonly #store: HistoryStore;
  readonly #instance: string;
  readonly #now: () => number;
  readonly #flushRows: number;
  readonly #maxQueued: number;
  readonly #retentionMs: number;
  readonly #maxBytes: number;
  readonly #onError: (error: Error) => void;
  #queue: Omit<EventRow, 'id'>[] = [];
  readonly #pending: Batch[] = [];
  #pendingRows = 0;
  #draining?: NodeJS.Immediate;
  readonly #batchRows: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #totals = new Map<string, Totals>();
  readonly #unsubscribe: (() => void)[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #soon?: NodeJS.Immediate;
  #firstPrune?: NodeJS.Immediate;
  #pruning?: Promise<void>;
  readonly #pruneRows: number;
  #failing = false;
  #closed = false;

  constructor(options: RecorderOptions) {
    this.#store = options.store;
    this.#instance = options.instance;
    this.#now = options.now ?? Date.now;
    this.#flushRows = options.flushRows ?? 500;
    this.#batchRows = options.batchRows ?? 100;
    this.#pruneRows = options.pruneRows ?? 1000;
    this.#maxQueued = options.maxQueued ?? 100_000;
    this.#retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#onError = options.onError ?? (() => undefined);
    this.run = this.#store.beginRun(this.#instance, this.#now());
    const flushEvery = options.flushIntervalMs ?? 1000;
    const pruneEvery = options.pruneIntervalMs ?? 10 * 60_000;
    // Timers never keep a process alive on their own; the owner closes the recorder on the way out.
    this.#timers.push(setInterval(() => this.flush(), flushEvery).unref());
    this.#timers.push(setInterval(() => void this.prune(), pruneEvery).unref());
    this.#firstPrune = setImmediate(() => void this.prune());
  }

  /** Record every event of `source` until close (core's `manager.events`). */
  attach(source: EventSource): this {
    this.#unsubscribe.push(source.on((event) => this.record(event as unknown as RecordableEvent)));
    return this;
  }

  /** Take one event: queue it or fold it into its minute; never touches the file. */
  record(event: RecordableEvent): void {
    if (this.#closed) return;
    const service = typeof event.service === 'string' ? event.service : 'default';
    if (event.type === 'probe') {
      this.#probe(service, event);
      return;
    }
    if (event.type === 'metrics') {
      this.#metrics(service, event);
      return;
    }
    if (NOT_EVENTS.has(event.type)) return;
    if (event.type === 'log' && !KEPT_LOG_LEVELS.has(String(event.level))) return;
    const subject =
      event.pathId ?? (PATH_PAIR_TYPES.includes(event.type) ? (event.from ?? event.to) : undefined);
    this.#queue.push({
      time: event.time,
      instance: this.#instance,
      run: this.run,
      service,
      type: event.type,
      path: typeof subject === 'string' ? subject : null,
      event,
    });
    if (this.#queue.length >= this.#flushRows && !this.#soon) {
      this.#soon = setImmediate(() => {
        this.#soon = undefined;
        this.flush();
      });
    }
  }

  #bucket(service: string, path: string, time: number): Bucket {
    const minute = Math.floor(time / 60_000) * 60_000;
    const key = `${service}\u0000${path}\u0000${minute}`;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = {
        service,
        path,
        minute,
        probes: 0,
        failures: 0,
        latencies: [],
        bytesIn: 0,
        bytesOut: 0,
        connections: 0,
        dirty: true,
      };
      this.#buckets.set(key, bucket);
    }
    bucket.dirty = true;
    return bucket;
  }

  #probe(service: string, event: RecordableEvent): void {
    if (typeof event.pathId !== 'string') return;
    const bucket = this.#bucket(service, event.pathId, event.time);
    bucket.probes += 1;
    if (event.ok !== true) bucket.failures += 1;
    else if (typeof event.latencyMs === 'number' && bucket.latencies.length < MAX_LATENCIES)
      bucket.latencies.push(event.latencyMs);
  }

  // Snapshots carry running totals; a minute gets what grew since the last one (a total that fell was reset).
  #metrics(service: string, event: RecordableEvent): void {
    const snapshot = event.snapshot as { paths?: SnapshotPath[] } | undefined;
    for (const p of snapshot?.paths ?? []) {
      const key = `${service}\u0000${p.id}`;
      const now = { bytesIn: p.bytesIn, bytesOut: p.bytesOut, connections: p.totalConnections };
      const before = this.#totals.get(key);
      this.#totals.set(key, now);
      const grew = (field: keyof Totals) =>
        before === undefined
          ? now[field]
          : now[field] >= before[field]
            ? now[field] - before[field]
            : now[field];
      const delta = {
        bytesIn: grew('bytesIn'),
        bytesOut: grew('bytesOut'),
        connections: grew('connections'),
      };
      if (delta.bytesIn === 0 && delta.bytesOut === 0 && delta.connections === 0) continue;
      const bucket = this.#bucket(service, p.id, event.time);
      bucket.bytesIn += delta.bytesIn;
      bucket.bytesOut += delta.bytesOut;
      bucket.connections += delta.connections;
    }
  }

  /**
   * Turn what is queued into batches of at most `batchRows` rows and write them, one transaction each, one batch
   * per turn of the event loop (so no single write holds the loop long). A batch that fails stays first in line
   * for the next flush. `final` writes everything now.
   */
  flush(final = false): void {
    const now = this.#now();
    const current = Math.floor(now / 60_000) * 60_000;
    const samples: SampleRow[] = [];
    for (const [key, bucket] of this.#buckets) {
      if (!bucket.dirty) continue;
      const sorted = [...bucket.latencies].sort((a, b) => a - b);
      samples.push({
        minute: bucket.minute,
        instance: this.#instance,
        run: this.run,
        service: bucket.service,
        path: bucket.path,
        probes: bucket.probes,
        failures: bucket.failures,
        latMin: sorted[0] ?? null,
        latP50: percentile(sorted, 50) ?? null,
        latP99: percentile(sorted, 99) ?? null,
        latMax: sorted.at(-1) ?? null,
        bytesIn: bucket.bytesIn,
        bytesOut: bucket.bytesOut,
        connections: bucket.connections,
      });
      bucket.dirty = false;
      // A finished minute is now in a batch for good; the current one stays to be rewritten as it fills.
      if (bucket.minute < current) this.#buckets.delete(key);
    }
    const events = this.#queue;
    this.#queue = [];
    const size = this.#batchRows;
    for (let i = 0; i < events.length; i += size) this.#pending.push({ events: events.slice(i, i + size) });
    for (let i = 0; i < samples.length; i += size)
      this.#pending.push({ samples: samples.slice(i, i + size) });
    // The run's heartbeat rides on the last batch of this flush.
    const run = { id: this.run, lastSeen: now, ...(final ? { stopped: now } : {}) };
    const last = this.#pending.at(-1);
    if (last && !last.run) last.run = run;
    else this.#pending.push({ run });
    this.#pendingRows += events.length + samples.length;
    // Samples are rewritten whole, so only events count as lost when the file stays unwritable too long.
    while (this.#pendingRows > this.#maxQueued && this.#pending.length > 1) {
      const dropped = this.#pending.shift() as Batch;
      const rows = (dropped.events?.length ?? 0) + (dropped.samples?.length ?? 0);
      this.#pendingRows -= rows;
      this.dropped += rows;
    }
    this.#drain(final);
  }

  #drain(all: boolean): void {
    while (this.#pending.length > 0) {
      const batch = this.#pending[0] as Batch;
      try {
        this.#store.write(batch);
        this.#failing = false;
      } catch (error) {
        this.#fail(error);
        return;
      }
      this.#pending.shift();
      this.#pendingRows -= (batch.events?.length ?? 0) + (batch.samples?.length ?? 0);
      if (!all && this.#pending.length > 0) {
        this.#draining ??= setImmediate(() => {
          this.#draining = undefined;
          this.#drain(false);
        });
        return;
      }
    }
  }

  /** Batches waiting to be written (tests and benchmarks look). */
  get pendingBatches(): number {
    return this.#pending.length;
  }

  /** Apply retention and the size cap: a bounded step per turn of the event loop; resolves when done. */
  prune(): Promise<void> {
    if (this.#pruning) return this.#pruning;
    const options = { now: this.#now(), retentionMs: this.#retentionMs, maxBytes: this.#maxBytes };
    this.#pruning = new Promise<void>((resolve) => {
      const step = () => {
        if (this.#closed) return resolve();
        try {
          if (this.#store.pruneStep(options, this.#pruneRows)) return resolve();
        } catch (error) {
          this.#fail(error);
          return resolve();
        }
        setImmediate(step);
      };
      step();
    }).finally(() => {
      this.#pruning = undefined;
    });
    return this.#pruning;
  }

  #fail(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#onError(
      error instanceof Error
        ? error
        : new HistoryError(`history write failed: ${String(error)}`, { cause: error }),
    );
  }

  /** Stop listening, write what is left and mark the run stopped. Does not close the store. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe) off();
    for (const timer of this.#timers) clearInterval(timer);
    if (this.#soon) clearImmediate(this.#soon);
    if (this.#firstPrune) clearImmediate(this.#firstPrune);
    if (this.#draining) clearImmediate(this.#draining);
    this.flush(true);
  }
}
