import { weightedPercentile } from './percentile';
import type { EventRow, RunRow, SampleRow } from './rows';

/**
 * Where a path (or service) stood: `up` connected (a service: any path connected); `down` opening, reconnecting or
 * failed; `off` stopped on purpose (`tunnelmux stop`, a restart, shutting down), which is not watched time.
 */
export type Standing = 'up' | 'down' | 'off';

/** A stretch of time in one standing. */
export interface Segment {
  start: number;
  end: number;
  state: Standing;
}

/** Outage figures over a range; durations are the part inside the range. */
export interface OutageFigures {
  outages: number;
  longestOutageMs: number;
  /** Mean time to recover: the mean of outages that ended inside the range; null when none did. */
  mttrMs: number | null;
}

export interface PathReport extends OutageFigures {
  path: string;
  /** Time this path was watched (from its first state change in each run to the run's end). */
  observedMs: number;
  upMs: number;
  /** upMs / observedMs, 0..1; null when never observed. */
  availability: number | null;
  primaryMs: number;
  /** Failovers away from this path. */
  failovers: number;
  probes: number;
  failedProbes: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  bytesIn: number;
  bytesOut: number;
  connections: number;
}

export interface DayFigure {
  /** UTC date, YYYY-MM-DD. */
  day: string;
  observedMs: number;
  /** Share of the observed time with a healthy path; null when tunnelmux did not run that day. */
  availability: number | null;
}

export interface ServiceReport extends OutageFigures {
  instance: string;
  service: string;
  runs: number;
  observedMs: number;
  /** Time with no healthy path at all: what a user of the front door felt. */
  noHealthyPathMs: number;
  availability: number | null;
  failovers: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  paths: PathReport[];
  days: DayFigure[];
}

export interface Report {
  since: number;
  until: number;
  /** Runs that overlap the range. */
  runs: number;
  services: ServiceReport[];
}

export interface ReportInput {
  runs: readonly RunRow[];
  /** Every event of those runs from each run's start (state before `since` matters), oldest first. */
  events: readonly EventRow[];
  samples: readonly SampleRow[];
  since: number;
  until: number;
}

const DAY_MS = 86_400_000;

/** The list under `key`, created empty on first use. */
function listIn<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  return list;
}

/** Length of [start, end) inside [lo, hi). */
export function overlap(start: number, end: number, lo: number, hi: number): number {
  return Math.max(0, Math.min(end, hi) - Math.max(start, lo));
}

/** A run's span: from start to its clean stop, or to its last heartbeat if it was killed. */
export function runEnd(run: RunRow): number {
  return run.stopped ?? run.lastSeen;
}

/** Segments from changes in time order, from the first change to `end`; same states merge. */
export function segmentsFrom(changes: readonly { time: number; state: Standing }[], end: number): Segment[] {
  const segments: Segment[] = [];
  for (const change of changes) {
    if (change.time >= end) break;
    const last = segments.at(-1);
    if (last?.state === change.state) continue;
    if (last) last.end = change.time;
    segments.push({ start: change.time, end, state: change.state });
  }
  // A state left in the same millisecond it was entered did not last; drop it and merge its neighbours.
  const merged: Segment[] = [];
  for (const segment of segments) {
    if (segment.end <= segment.start) continue;
    const last = merged.at(-1);
    if (last && last.state === segment.state) last.end = segment.end;
    else merged.push({ ...segment });
  }
  return merged;
}

/**
 * Outages among `segments` (one run's), counted inside [lo, hi). An outage is a stretch `down`, except an opening:
 * a down stretch at the start or after `off` that ends in up. A path that never came up is one outage. Durations
 * are clipped to the range, so an outage spanning `since` counts only its part after `since`; it has recovered
 * (and counts toward MTTR) only if it ended in up before `hi`.
 */
export function outagesIn(segments: readonly Segment[], lo: number, hi: number) {
  const found: { ms: number; recovered: boolean }[] = [];
  segments.forEach((segment, index) => {
    if (segment.state !== 'down') return;
    const before = segments[index - 1];
    const next = segments[index + 1];
    const recovered = next?.state === 'up';
    if (before?.state !== 'up' && recovered) return;
    const ms = overlap(segment.start, segment.end, lo, hi);
    if (ms <= 0) return;
    found.push({ ms, recovered: recovered && segment.end <= hi });
  });
  return found;
}

/** Watched time of segments inside [lo, hi): everything but `off`. */
function watched(segments: readonly Segment[], lo: number, hi: number, state?: Standing): number {
  return segments
    .filter((s) => (state ? s.state === state : s.state !== 'off'))
    .reduce((sum, s) => sum + overlap(s.start, s.end, lo, hi), 0);
}

/**
 * A service's segments from its paths': up while any path is up, off while every path is off (or not started),
 * down otherwise. A sweep over every path's changes, so a thousand paths cost a sort, not a product.
 */
export function serviceStanding(paths: readonly (readonly Segment[])[], end: number): Segment[] {
  const changes: { time: number; path: number; state: Standing }[] = [];
  paths.forEach((segments, path) => {
    for (const s of segments) changes.push({ time: s.start, path, state: s.state });
    const last = segments.at(-1);
    if (last) changes.push({ time: last.end, path, state: 'off' });
  });
  changes.sort((a, b) => a.time - b.time);
  const current: Standing[] = paths.map(() => 'off');
  const count = { up: 0, down: 0, off: paths.length };
  const out: { time: number; state: Standing }[] = [];
  for (let i = 0; i < changes.length; ) {
    const time = changes[i]?.time ?? 0;
    for (; i < changes.length && changes[i]?.time === time; i++) {
      const change = changes[i] as { path: number; state: Standing };
      count[current[change.path] as Standing] -= 1;
      current[change.path] = change.state;
      count[change.state] += 1;
    }
    out.push({ time, state: count.up > 0 ? 'up' : count.down > 0 ? 'down' : 'off' });
  }
  return segmentsFrom(out, end);
}

function summarise(outages: readonly { ms: number; recovered: boolean }[]): OutageFigures {
  const recovered = outages.filter((outage) => outage.recovered);
  return {
    outages: outages.length,
    longestOutageMs: outages.reduce((longest, outage) => Math.max(longest, outage.ms), 0),
    mttrMs: recovered.length > 0 ? recovered.reduce((sum, o) => sum + o.ms, 0) / recovered.length : null,
  };
}

interface PathAcc {
  observedMs: number;
  upMs: number;
  primaryMs: number;
  failovers: number;
  outages: { ms: number; recovered: boolean }[];
}

interface ServiceAcc {
  instance: string;
  service: string;
  runs: Set<string>;
  observedMs: number;
  noPathMs: number;
  failovers: number;
  outages: { ms: number; recovered: boolean }[];
  paths: Map<string, PathAcc>;
  /** Per UTC day start: observed and no-path ms. */
  days: Map<number, { observed: number; noPath: number }>;
}

// Core reaches `disconnected` only when told to stop (stop, restart, removal, shutdown).
const standing = (row: EventRow): Standing =>
  row.event.to === 'connected' ? 'up' : row.event.to === 'disconnected' ? 'off' : 'down';

/** The report over [since, until): pure arithmetic over rows, so it is tested on hand-made histories. */
export function computeReport(input: ReportInput): Report {
  const { since, until } = input;
  const services = new Map<string, ServiceAcc>();
  const service = (instance: string, name: string): ServiceAcc => {
    const key = `${instance}\u0000${name}`;
    let acc = services.get(key);
    if (!acc) {
      acc = {
        instance,
        service: name,
        runs: new Set(),
        observedMs: 0,
        noPathMs: 0,
        failovers: 0,
        outages: [],
        paths: new Map(),
        days: new Map(),
      };
      services.set(key, acc);
    }
    return acc;
  };
  const pathAcc = (acc: ServiceAcc, id: string): PathAcc => {
    let p = acc.paths.get(id);
    if (!p) {
      p = { observedMs: 0, upMs: 0, primaryMs: 0, failovers: 0, outages: [] };
      acc.paths.set(id, p);
    }
    return p;
  };

  const eventsByRun = new Map<string, EventRow[]>();
  for (const row of input.events) {
    if (row.run === null) continue;
    const list = listIn(eventsByRun, row.run);
    list.push(row);
  }
  let runsInRange = 0;

  for (const run of input.runs) {
    const end = runEnd(run);
    const lo = Math.max(run.started, since);
    const hi = Math.min(end, until);
    if (hi <= lo) continue;
    runsInRange += 1;
    const rows = (eventsByRun.get(run.id) ?? []).filter((row) => row.time <= end);
    const byService = new Map<string, EventRow[]>();
    for (const row of rows) {
      const list = listIn(byService, row.service);
      list.push(row);
    }
    for (const [name, list] of byService) {
      const acc = service(run.instance, name);
      acc.runs.add(run.id);
      // Each path's standing from its state changes.
      const changes = new Map<string, { time: number; state: Standing }[]>();
      for (const row of list) {
        if (row.type !== 'state-change' || row.path === null) continue;
        listIn(changes, row.path).push({ time: row.time, state: standing(row) });
      }
      const pathSegments = new Map<string, Segment[]>();
      for (const [id, c] of changes) {
        const segments = segmentsFrom(c, end);
        pathSegments.set(id, segments);
        const p = pathAcc(acc, id);
        p.observedMs += watched(segments, lo, hi);
        p.upMs += watched(segments, lo, hi, 'up');
        p.outages.push(...outagesIn(segments, lo, hi));
      }
      const serviceSegments = serviceStanding([...pathSegments.values()], end);
      acc.observedMs += watched(serviceSegments, lo, hi);
      acc.noPathMs += watched(serviceSegments, lo, hi, 'down');
      acc.outages.push(...outagesIn(serviceSegments, lo, hi));
      for (let day = Math.floor(lo / DAY_MS) * DAY_MS; day < hi; day += DAY_MS) {
        const entry = acc.days.get(day) ?? { observed: 0, noPath: 0 };
        const [dayLo, dayHi] = [Math.max(lo, day), Math.min(hi, day + DAY_MS)];
        entry.observed += watched(serviceSegments, dayLo, dayHi);
        entry.noPath += watched(serviceSegments, dayLo, dayHi, 'down');
        acc.days.set(day, entry);
      }
      // Time as primary: from each primary change to the next, or the run's end.
      const primaries = list.filter((row) => row.type === 'primary-change');
      primaries.forEach((row, index) => {
        const to = row.event.to;
        if (typeof to !== 'string') return;
        const next = primaries[index + 1]?.time ?? end;
        pathAcc(acc, to).primaryMs += overlap(row.time, next, lo, hi);
      });
      for (const row of list) {
        if (row.type !== 'failover' || row.time < lo || row.time >= hi) continue;
        acc.failovers += 1;
        if (typeof row.event.from === 'string') pathAcc(acc, row.event.from).failovers += 1;
      }
    }
  }

  // Samples: per-minute probe, latency and traffic figures in range.
  const sampleGroups = new Map<string, SampleRow[]>();
  const runIds = new Set(input.runs.map((run) => run.id));
  for (const s of input.samples) {
    if (s.run === null || !runIds.has(s.run)) continue;
    if (s.minute + 60_000 <= since || s.minute >= until) continue;
    const acc = service(s.instance, s.service);
    const key = `${s.instance}\u0000${s.service}\u0000${s.path}`;
    const list = listIn(sampleGroups, key);
    list.push(s);
    pathAcc(acc, s.path);
  }
  const latency = (list: readonly SampleRow[]) => {
    const weigh = (pick: (s: SampleRow) => number | null, p: number) =>
      weightedPercentile(
        list.flatMap((s) => {
          const value = pick(s);
          return value === null ? [] : [{ value, weight: Math.max(1, s.probes - s.failures) }];
        }),
        p,
      );
    // From per-minute figures weighted by successful probes: the median of the minutes' medians, and the 99th
    // percentile of the minutes' p99s (it leans high rather than hide a bad minute).
    return { p50: weigh((s) => s.latP50, 50) ?? null, p99: weigh((s) => s.latP99, 99) ?? null };
  };

  const report: ServiceReport[] = [];
  for (const acc of services.values()) {
    const all: SampleRow[] = [];
    const paths: PathReport[] = [...acc.paths.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, p]) => {
        const list = sampleGroups.get(`${acc.instance}\u0000${acc.service}\u0000${id}`) ?? [];
        all.push(...list);
        const l = latency(list);
        return {
          path: id,
          observedMs: p.observedMs,
          upMs: p.upMs,
          availability: p.observedMs > 0 ? p.upMs / p.observedMs : null,
          primaryMs: p.primaryMs,
          failovers: p.failovers,
          ...summarise(p.outages),
          probes: list.reduce((n, s) => n + s.probes, 0),
          failedProbes: list.reduce((n, s) => n + s.failures, 0),
          latencyP50Ms: l.p50,
          latencyP99Ms: l.p99,
          bytesIn: list.reduce((n, s) => n + s.bytesIn, 0),
          bytesOut: list.reduce((n, s) => n + s.bytesOut, 0),
          connections: list.reduce((n, s) => n + s.connections, 0),
        };
      });
    const l = latency(all);
    report.push({
      instance: acc.instance,
      service: acc.service,
      runs: acc.runs.size,
      observedMs: acc.observedMs,
      noHealthyPathMs: acc.noPathMs,
      availability: acc.observedMs > 0 ? 1 - acc.noPathMs / acc.observedMs : null,
      failovers: acc.failovers,
      ...summarise(acc.outages),
      latencyP50Ms: l.p50,
      latencyP99Ms: l.p99,
      paths,
      days: daysOf(since, until, acc.days),
    });
  }
  report.sort((a, b) => a.instance.localeCompare(b.instance) || a.service.localeCompare(b.service));
  return { since, until, runs: runsInRange, services: report };
}

function daysOf(since: number, until: number, days: ServiceAcc['days']): DayFigure[] {
  const out: DayFigure[] = [];
  for (let day = Math.floor(since / DAY_MS) * DAY_MS; day < until; day += DAY_MS) {
    const entry = days.get(day);
    out.push({
      day: new Date(day).toISOString().slice(0, 10),
      observedMs: entry?.observed ?? 0,
      availability: entry && entry.observed > 0 ? 1 - entry.noPath / entry.observed : null,
    });
  }
  return out;
}
