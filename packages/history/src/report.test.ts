import { describe, expect, it } from 'vitest';
import { computeReport, outagesIn, segmentsFrom } from './report';
import type { EventRow, RunRow, SampleRow } from './rows';

const S = 1000;
let nextId = 1;

// Hand-made history: each helper writes the row `up` would have recorded.
function state(run: string, time: number, path: string, to: string, service = 'default'): EventRow {
  return {
    id: nextId++,
    time,
    instance: 'i',
    run,
    service,
    type: 'state-change',
    path,
    event: { type: 'state-change', time, pathId: path, from: 'x', to, reason: 'test' },
  };
}
function primary(run: string, time: number, to: string, service = 'default'): EventRow {
  return {
    id: nextId++,
    time,
    instance: 'i',
    run,
    service,
    type: 'primary-change',
    path: to,
    event: { type: 'primary-change', time, to, reason: 'failover' },
  };
}
function failover(run: string, time: number, from: string, to: string): EventRow {
  return {
    id: nextId++,
    time,
    instance: 'i',
    run,
    service: 'default',
    type: 'failover',
    path: from,
    event: { type: 'failover', time, from, to, reason: 'down' },
  };
}
function run(id: string, started: number, end: number, killed = false): RunRow {
  return { id, instance: 'i', pid: 1, started, lastSeen: end, stopped: killed ? null : end };
}
function sample(
  runId: string,
  minute: number,
  path: string,
  p50: number,
  p99: number,
  probes = 30,
): SampleRow {
  return {
    minute,
    instance: 'i',
    run: runId,
    service: 'default',
    path,
    probes,
    failures: 0,
    latMin: p50 / 2,
    latP50: p50,
    latP99: p99,
    latMax: p99,
    bytesIn: 10,
    bytesOut: 20,
    connections: 1,
  };
}

// Path a: up at 1 s, down 100–130 s, down 500–600 s; b: up at 2 s for good. Primary a, b 100–200, a, b 500–650, a.
function scenarioOne() {
  const r = 'r1';
  const events = [
    state(r, 0, 'a', 'connecting'),
    state(r, 0, 'b', 'connecting'),
    state(r, 1 * S, 'a', 'connected'),
    primary(r, 1 * S, 'a'),
    state(r, 2 * S, 'b', 'connected'),
    state(r, 100 * S, 'a', 'reconnecting'),
    failover(r, 100 * S, 'a', 'b'),
    primary(r, 100 * S, 'b'),
    state(r, 130 * S, 'a', 'connected'),
    primary(r, 200 * S, 'a'),
    state(r, 500 * S, 'a', 'failed'),
    failover(r, 500 * S, 'a', 'b'),
    primary(r, 500 * S, 'b'),
    state(r, 600 * S, 'a', 'connected'),
    primary(r, 650 * S, 'a'),
  ];
  return { runs: [run(r, 0, 1000 * S)], events };
}

// Both paths up at 1 s; a down 300–400 s, b down 320–350 s: no healthy path 320–350 s. Killed at 1000 s.
function scenarioTwo() {
  const r = 'r2';
  const events = [
    state(r, 0, 'a', 'connecting'),
    state(r, 0, 'b', 'connecting'),
    state(r, 1 * S, 'a', 'connected'),
    state(r, 1 * S, 'b', 'connected'),
    state(r, 300 * S, 'a', 'reconnecting'),
    state(r, 320 * S, 'b', 'reconnecting'),
    state(r, 350 * S, 'b', 'connected'),
    state(r, 400 * S, 'a', 'connected'),
  ];
  return { runs: [run(r, 0, 1000 * S, true)], events };
}

describe('segments and outages', () => {
  it('merges repeated states and ends the last segment at the run end', () => {
    const segments = segmentsFrom(
      [
        { time: 0, state: 'down' },
        { time: 5, state: 'down' },
        { time: 10, state: 'up' },
        { time: 20, state: 'down' },
        { time: 20, state: 'up' },
        { time: 50, state: 'down' },
        { time: 55, state: 'off' },
      ],
      60,
    );
    expect(segments).toEqual([
      { start: 0, end: 10, state: 'down' },
      { start: 10, end: 50, state: 'up' },
      { start: 50, end: 55, state: 'down' },
      { start: 55, end: 60, state: 'off' },
    ]);
  });

  it('does not count opening (at start or after a stop) as an outage, but counts a path that never came up', () => {
    expect(
      outagesIn(
        [
          { start: 0, end: 10, state: 'down' },
          { start: 10, end: 20, state: 'up' },
          { start: 20, end: 30, state: 'off' },
          { start: 30, end: 35, state: 'down' },
          { start: 35, end: 40, state: 'up' },
          { start: 40, end: 48, state: 'down' },
          { start: 48, end: 50, state: 'off' },
        ],
        0,
        50,
      ),
    ).toEqual([{ ms: 8, recovered: false }]);
    expect(outagesIn([{ start: 0, end: 20, state: 'down' }], 0, 20)).toEqual([{ ms: 20, recovered: false }]);
  });
});

describe('computeReport on hand-made histories', () => {
  it('scenario one: availability, primary time, failovers, outages and MTTR per path', () => {
    const { runs, events } = scenarioOne();
    const report = computeReport({ runs, events, samples: [], since: 0, until: 1000 * S });
    expect(report.runs).toBe(1);
    const [svc] = report.services;
    expect(svc).toMatchObject({
      instance: 'i',
      service: 'default',
      observedMs: 1000 * S,
      // Only the first second, before either path was up.
      noHealthyPathMs: 1 * S,
      failovers: 2,
      outages: 0,
      longestOutageMs: 0,
      mttrMs: null,
    });
    expect(svc?.availability).toBeCloseTo(0.999, 12);
    const a = svc?.paths.find((p) => p.path === 'a');
    const b = svc?.paths.find((p) => p.path === 'b');
    expect(a).toMatchObject({
      observedMs: 1000 * S,
      upMs: 869 * S,
      availability: 0.869,
      primaryMs: 749 * S,
      failovers: 2,
      outages: 2,
      longestOutageMs: 100 * S,
      mttrMs: 65 * S,
    });
    expect(b).toMatchObject({
      upMs: 998 * S,
      availability: 0.998,
      primaryMs: 250 * S,
      failovers: 0,
      outages: 0,
      mttrMs: null,
    });
  });

  it('scenario two: the time with no healthy path is what both paths down at once gives', () => {
    const { runs, events } = scenarioTwo();
    const [svc] = computeReport({ runs, events, samples: [], since: 0, until: 1000 * S }).services;
    expect(svc).toMatchObject({
      observedMs: 1000 * S,
      noHealthyPathMs: 31 * S,
      outages: 1,
      longestOutageMs: 30 * S,
      mttrMs: 30 * S,
    });
    expect(svc?.paths.find((p) => p.path === 'a')).toMatchObject({ outages: 1, longestOutageMs: 100 * S });
  });

  it('clips outages that span --since to their part inside the range', () => {
    const { runs, events } = scenarioTwo();
    const [svc] = computeReport({ runs, events, samples: [], since: 330 * S, until: 1000 * S }).services;
    expect(svc).toMatchObject({
      observedMs: 670 * S,
      noHealthyPathMs: 20 * S,
      outages: 1,
      longestOutageMs: 20 * S,
      mttrMs: 20 * S,
    });
    expect(svc?.availability).toBeCloseTo(1 - 20 / 670, 12);
    const a = svc?.paths.find((p) => p.path === 'a');
    expect(a).toMatchObject({ observedMs: 670 * S, upMs: 600 * S, outages: 1, longestOutageMs: 70 * S });
    expect(a?.availability).toBeCloseTo(600 / 670, 10);
    expect(svc?.paths.find((p) => p.path === 'b')).toMatchObject({ upMs: 650 * S, longestOutageMs: 20 * S });
  });

  it('an outage still open at --until counts, but not toward MTTR', () => {
    const { runs, events } = scenarioTwo();
    const [svc] = computeReport({ runs, events, samples: [], since: 0, until: 340 * S }).services;
    const a = svc?.paths.find((p) => p.path === 'a');
    expect(a).toMatchObject({ outages: 1, longestOutageMs: 40 * S, mttrMs: null, upMs: 299 * S });
    expect(svc).toMatchObject({ noHealthyPathMs: 21 * S, outages: 1, longestOutageMs: 20 * S, mttrMs: null });
  });

  it('counts only the time tunnelmux ran: a gap between runs is neither up nor down', () => {
    const events = [
      state('x', 0, 'a', 'connecting'),
      state('x', 10 * S, 'a', 'connected'),
      state('y', 200 * S, 'a', 'connecting'),
      state('y', 220 * S, 'a', 'connected'),
    ];
    const runs = [run('x', 0, 100 * S), run('y', 200 * S, 300 * S, true)];
    const [svc] = computeReport({ runs, events, samples: [], since: 0, until: 400 * S }).services;
    expect(svc).toMatchObject({ runs: 2, observedMs: 200 * S, noHealthyPathMs: 30 * S, outages: 0 });
    expect(svc?.paths[0]).toMatchObject({ path: 'a', observedMs: 200 * S, upMs: 170 * S });
  });

  it('gives a per-day availability and takes latency from per-minute samples', () => {
    const day = Date.UTC(2026, 0, 10);
    const t = (h: number) => day + h * 3_600_000;
    // Up from 23:00 on day one; no healthy path 00:30–01:00 on day two; stopped at 02:00.
    const events = [
      state('d', t(23), 'a', 'connecting'),
      state('d', t(23) + 1, 'a', 'connected'),
      state('d', t(24.5), 'a', 'reconnecting'),
      state('d', t(25), 'a', 'connected'),
    ];
    const samples = [sample('d', t(23), 'a', 10, 40), sample('d', t(23) + 60_000, 'a', 20, 80, 10)];
    const report = computeReport({
      runs: [run('d', t(23), t(26))],
      events,
      samples,
      since: t(0),
      until: t(48),
    });
    const [svc] = report.services;
    expect(svc?.days.map((d) => d.day)).toEqual(['2026-01-10', '2026-01-11']);
    expect(svc?.days[0]?.observedMs).toBe(3_600_000);
    expect(svc?.days[0]?.availability).toBeCloseTo(1 - 1 / 3_600_000, 12);
    expect(svc?.days[1]).toMatchObject({ observedMs: 7_200_000, availability: 0.75 });
    expect(svc?.paths[0]).toMatchObject({ latencyP50Ms: 10, latencyP99Ms: 80, probes: 40, bytesIn: 20 });
  });

  it('a deliberate stop is not watched time and not an outage', () => {
    const events = [
      state('s', 0, 'a', 'connecting'),
      state('s', 1 * S, 'a', 'connected'),
      // `tunnelmux stop a` at 40 s, `restart a` at 60 s, up again at 61 s; shutdown at 100 s.
      state('s', 40 * S, 'a', 'disconnected'),
      state('s', 60 * S, 'a', 'connecting'),
      state('s', 61 * S, 'a', 'connected'),
      state('s', 100 * S, 'a', 'disconnected'),
    ];
    const [svc] = computeReport({
      runs: [run('s', 0, 100 * S + 5)],
      events,
      samples: [],
      since: 0,
      until: 200 * S,
    }).services;
    expect(svc).toMatchObject({ observedMs: 80 * S, noHealthyPathMs: 2 * S, outages: 0 });
    expect(svc?.paths[0]).toMatchObject({ observedMs: 80 * S, upMs: 78 * S, outages: 0 });
  });

  it('reports each service of one run on its own', () => {
    const events = [
      state('m', 0, 'a', 'connecting'),
      state('m', 1 * S, 'a', 'connected'),
      state('m', 0, 'w1', 'connecting', 'web'),
      state('m', 4 * S, 'w1', 'connected', 'web'),
      state('m', 50 * S, 'w1', 'reconnecting', 'web'),
      state('m', 60 * S, 'w1', 'connected', 'web'),
    ];
    const report = computeReport({
      runs: [run('m', 0, 100 * S)],
      events,
      samples: [],
      since: 0,
      until: 100 * S,
    });
    expect(report.services.map((s) => [s.service, s.noHealthyPathMs, s.outages])).toEqual([
      ['default', 1 * S, 0],
      ['web', 14 * S, 1],
    ]);
    expect(report.services[1]?.paths.map((p) => p.path)).toEqual(['w1']);
  });

  it('an empty range has no service', () => {
    const { runs, events } = scenarioOne();
    expect(computeReport({ runs, events, samples: [], since: 2000 * S, until: 3000 * S })).toMatchObject({
      runs: 0,
      services: [],
    });
  });
});
