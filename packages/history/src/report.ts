import { weightedPercentile } from './percentile';
import type { EventRow, RunRow, SampleRow } from './rows';

/** A stretch of time in one state: up (a path connected; for a service, any path connected) or not. */
export interface Segment {
  start: number;
  end: number;
  up: boolean;
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

/** Segments from (time, up) changes in time order, from the first change to `end`; same states merge. */
export function segmentsFrom(changes: readonly { time: number; up: boolean }[], end: number): Segment[] {
  const segments: Segment[] = [];
  for (const change of changes) {
    if (change.time >= end) break;
    const last = segments.at(-1);
    if (last?.up === change.up) continue;
    if (last) last.end = change.time;
    segments.push({ start: change.time, end, up: change.up });
  }
  // A state left in the same millisecond it was entered did not last; drop it and merge its neighbours.
  const merged: Segment[] = [];
  for (const segment of segments) {
    if (segment.end <= segment.start) continue;
    const last = merged.at(-1);
    if (last && last.up === segment.up) last.end = segment.end;
    else merged.push({ ...segment });
  }
  return merged;
}

/**
 * Outages among `segments` (one run's), counted inside [lo, hi). An outage is a stretch not up, except the
 * start-up one that ends in up (opening is not an outage); a path that never came up is one outage. Durations
 * are clipped to the range, so an outage spanning `since` counts only its part after `since`; it has recovered
 * (and counts toward MTTR) only if it ended before `hi`.
 */
export function outagesIn(segments: readonly Segment[], lo: number, hi: number) {
  const found: { ms: number; recovered: boolean }[] = [];
  segments.forEach((segment, index) => {
    if (segment.up) return;
    const next = segments[index + 1];
    if (index === 0 && next?.up) return;
    const ms = overlap(segment.start, segment.end, lo, hi);
    if (ms <= 0) return;
    found.push({ ms, recovered: next?.up === true && segment.end <= hi });
  });
  return found;
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

const isUp = (row: EventRow) => row.event.to === 'connected';

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
      // Each path's up/down from its state changes.
      const changes = new Map<string, { time: number; up: boolean }[]>();
      for (const row of list) {
        if (row.type !== 'state-change' || row.path === null) continue;
        const c = listIn(changes, row.path);
        c.push({ time: row.time, up: isUp(row) });
      }
      const pathSegments = new Map<string, Segment[]>();
      for (const [id, c] of changes) {
        const segments = segmentsFrom(c, end);
        pathSegments.set(id, segments);
        const p = pathAcc(acc, id);
        const first = segments[0];
        if (first) p.observedMs += overlap(first.start, end, lo, hi);
        for (const s of segments) if (s.up) p.upMs += overlap(s.start, s.end, lo, hi);
        p.outages.push(...outagesIn(segments, lo, hi));
      }
      // The service is up while any path is; watched from its first path's first change.
      const times = [...new Set([...pathSegments.values()].flat().map((s) => s.start))].sort((a, b) => a - b);
      const serviceChanges = times.map((time) => ({
        time,
        up: [...pathSegments.values()].some((segs) =>
          segs.some((s) => s.up && s.start <= time && time < s.end),
        ),
      }));
      const serviceSegments = segmentsFrom(serviceChanges, end);
      const start = serviceSegments[0]?.start;
      if (start !== undefined) {
        acc.observedMs += overlap(start, end, lo, hi);
        for (const s of serviceSegments) if (!s.up) acc.noPathMs += overlap(s.start, s.end, lo, hi);
        acc.outages.push(...outagesIn(serviceSegments, lo, hi));
        for (let day = Math.floor(lo / DAY_MS) * DAY_MS; day < hi; day += DAY_MS) {
          const entry = acc.days.get(day) ?? { observed: 0, noPath: 0 };
          entry.observed += overlap(start, end, Math.max(lo, day), Math.min(hi, day + DAY_MS));
          for (const s of serviceSegments)
            if (!s.up) entry.noPath += overlap(s.start, s.end, Math.max(lo, day), Math.min(hi, day + DAY_MS));
          acc.days.set(day, entry);
        }
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
