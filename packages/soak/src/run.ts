import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, writeFaults } from '@tunnelmux/testkit';
import { execa } from 'execa';
import { ask } from './control';
import { lastPart, robustSlope } from './fit';
import { type Attempt, Load, type LoadStats } from './load';
import { countByKind, DEAD_KINDS, type FaultStep, faultsFor, makePlan, type Plan } from './plan';
import { descendants, memoryAndFds, type ProcEntry, processesMentioning, stillThere } from './proc';
import { type JsonProcess, startJson } from './processes';
import { startTarget } from './target';
import { classify, noHealthySpans, type PathTimeline, type Span, totalMs } from './timeline';
import {
  BIN,
  type Capabilities,
  capabilities,
  failoverLine,
  LOCAL_PLUGIN,
  pathLine,
  SLOW_LATENCY_MS,
} from './world';

export interface SoakOptions {
  minutes: number;
  seed: number;
  out: string;
  /** Leave out the second service even when the CLI has `services:`. */
  noServices?: boolean;
  log(line: string): void;
}

/** A grace at every edge of a span with no healthy path: fault files are polled every 50 ms, event times and
 * client times come from two processes, and a client already in flight at the edge sees the old world. */
export const GRACE_MS = 2000;

/**
 * Slope limits (Theil–Sen fit over the last two thirds): growth over that window, or per minute, whichever
 * allows more. 30 minutes: 1.6 MiB/min of RSS or heap, 1.6 fds or handles/min. Runs under 10 minutes allow
 * `shortRunWindow` over the window instead: a young process is still warming up under this load (about 12 MB
 * over a 2-minute run), and one outage moves the handle count by a hundred (160 fell to 45 and came back), which
 * tilts a fit over a minute. The 2-minute CI run catches gross leaks: a handle leaked per connection would be
 * thousands.
 */
export const LIMITS = {
  rssBytes: { perWindow: 32 * 1024 * 1024, shortRunWindow: 64 * 1024 * 1024, perMinute: 1024 * 1024 },
  heapUsedBytes: { perWindow: 32 * 1024 * 1024, shortRunWindow: 64 * 1024 * 1024, perMinute: 1024 * 1024 },
  fds: { perWindow: 32, shortRunWindow: 64, perMinute: 1 },
  activeResources: { perWindow: 32, shortRunWindow: 64, perMinute: 1 },
};

/** Load without faults before the measured run, so a young process growing its heap is not read as a leak. */
export const WARM_UP_MS = 60_000;

// Event types the timeline needs; probes, logs and metrics are counted, not kept.
const KEEP = new Set([
  'ready',
  'stopped',
  'state-change',
  'primary-change',
  'failover',
  'no-healthy-path',
  'healthy-path-restored',
  'connection-refused',
  'error',
  'warning',
  'cli',
  'session-resumed',
  'session-lost',
]);

interface Instance {
  name: string;
  /** The service name its events carry (`event.service ?? 'default'`). */
  service: string;
  proc: JsonProcess;
  port: number;
  paths: string[];
  faultFiles: Map<string, string>;
  load: Load;
  resume: boolean;
}

interface Sample {
  t: number;
  who: string;
  rssBytes?: number;
  fds?: number;
  heapUsedBytes?: number;
  activeResources?: number;
  // Reported beside the judged figures, to tell a leak from V8 or the allocator keeping memory it once needed.
  heapTotalBytes?: number;
  externalBytes?: number;
  arrayBuffersBytes?: number;
}

/**
 * The Theil–Sen slope of one figure over the last two thirds of a process's samples (in time order): per minute, over
 * the window, and the window's length; or how few samples there were when under 5 cannot make a fit.
 */
function fitSlope(
  samples: readonly Sample[],
  metric: Exclude<keyof Sample, 't' | 'who'>,
): { perMinute: number; window: number; windowMs: number } | { few: number } {
  const points = lastPart(
    samples.filter((s) => typeof s[metric] === 'number').map((s) => ({ x: s.t, y: s[metric] as number })),
    2 / 3,
  );
  if (points.length < 5) return { few: points.length };
  const perMs = robustSlope(points);
  const windowMs = points[points.length - 1]!.x - points[0]!.x;
  return { perMinute: perMs * 60_000, window: perMs * windowMs, windowMs };
}

/** Sampled and fitted like the limited figures, but reported only: they explain RSS, they are not judged. */
const EXPLAINING = ['heapTotalBytes', 'externalBytes', 'arrayBuffersBytes'] as const;

export interface SoakResult {
  ok: boolean;
  failures: string[];
  summary: Record<string, unknown>;
  /** The figures in a few lines, for the console. */
  report: string[];
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log } = options;
  const durationMs = Math.round(options.minutes * 60_000);
  const caps: Capabilities = capabilities();
  let withServices = caps.services && !options.noServices;
  let servicesNote = '';
  mkdirSync(options.out, { recursive: true });
  // Short private folder: unix socket paths are limited to 107 bytes; its name marks every forwarder's argv.
  const home = mkdtempSync(path.join(os.tmpdir(), 'tmx-soak-'));
  mkdirSync(path.join(home, 'run'), { recursive: true, mode: 0o700 });
  const env = {
    ...process.env,
    XDG_RUNTIME_DIR: path.join(home, 'run'),
    TUNNELMUX_HOME: path.join(home, 'home'),
    NO_COLOR: '1',
  };
  const cleanups: (() => Promise<unknown> | unknown)[] = [
    () => rmSync(home, { recursive: true, force: true }),
  ];
  const failures: string[] = [];
  const target = await startTarget();
  cleanups.unshift(() => target.close());
  const procs: JsonProcess[] = [];
  const seen = new Map<number, ProcEntry>();
  let planTimer: NodeJS.Timeout | undefined;
  let sampleTimer: NodeJS.Timeout | undefined;
  const instances: Instance[] = [];
  try {
    // The relay and its key, for the resume instance.
    const keygen = await execa(process.execPath, [BIN, 'keygen', path.join(home, 'session.key')], {
      env,
      extendEnv: false,
      reject: false,
      timeout: 30_000,
    });
    if (keygen.exitCode !== 0) throw new Error(`keygen failed: ${keygen.stderr}`);
    const relay = startJson(
      BIN,
      [
        'relay',
        `127.0.0.1:${target.port}`,
        '--listen',
        '127.0.0.1:0',
        '--key-file',
        path.join(home, 'session.key'),
        '--name',
        'soak-relay',
      ],
      { cwd: home, env, keep: (line) => KEEP.has(String(line.type)) },
    );
    procs.push(relay);
    const relayReady = await relay.waitFor((l) => l.type === 'ready', 60_000, 'relay ready line');
    const relayAt = String(relayReady.listen);

    const file = (id: string) => path.join(home, `faults-${id}.json`);
    const portA = await freePort();
    const portA2 = withServices ? await freePort() : 0;
    const portB = await freePort();
    const idsA = ['a1', 'a2', 'a3'];
    const idsA2 = ['s1', 's2'];
    const idsB = ['b1', 'b2'];
    const writeConfigA = (fall?: number) => {
      const lines = withServices
        ? [
            'name: soak-a',
            `plugins: [${JSON.stringify(LOCAL_PLUGIN)}]`,
            failoverLine(fall),
            'services:',
            '  main:',
            `    listen: 127.0.0.1:${portA}`,
            `    target: 127.0.0.1:${target.port}`,
            '    protocol: ssh',
            '    paths:',
            ...idsA.map((id, i) => `    ${pathLine(id, i + 1, file(id))}`),
            '  second:',
            `    listen: 127.0.0.1:${portA2}`,
            `    target: 127.0.0.1:${target.port}`,
            '    protocol: ssh',
            '    paths:',
            ...idsA2.map((id, i) => `    ${pathLine(id, i + 1, file(id))}`),
          ]
        : [
            'name: soak-a',
            `listen: 127.0.0.1:${portA}`,
            `target: 127.0.0.1:${target.port}`,
            'protocol: ssh',
            `plugins: [${JSON.stringify(LOCAL_PLUGIN)}]`,
            failoverLine(fall),
            'paths:',
            ...idsA.map((id, i) => pathLine(id, i + 1, file(id))),
          ];
      writeFileSync(path.join(home, 'a.yaml'), `${lines.join('\n')}\n`);
    };
    writeConfigA();
    writeFileSync(
      path.join(home, 'b.yaml'),
      [
        'name: soak-b',
        `listen: 127.0.0.1:${portB}`,
        `target: ${relayAt}`,
        'protocol: ssh',
        `plugins: [${JSON.stringify(LOCAL_PLUGIN)}]`,
        failoverLine(),
        `resume: { keyFile: ${JSON.stringify(path.join(home, 'session.key'))}, heartbeat: 500ms, window: 60s }`,
        'paths:',
        ...idsB.map((id, i) => pathLine(id, i + 1, file(id))),
        '',
      ].join('\n'),
    );
    for (const id of [...idsA, ...(withServices ? idsA2 : []), ...idsB]) writeFaults(file(id), {});

    let upA = startJson(BIN, ['up', '--config', path.join(home, 'a.yaml')], {
      cwd: home,
      env,
      keep: (line) => KEEP.has(String(line.type)),
    });
    procs.push(upA);
    let readyA: Record<string, unknown>;
    try {
      readyA = await upA.waitFor((l) => l.type === 'ready', 90_000, 'ready line of up A');
    } catch (error) {
      if (!withServices) throw error;
      // The CLI has `services:` but refused the soak's two-service config: say so and go on with one service.
      servicesNote = `the two-service config was refused: ${(error as Error).message.slice(0, 400)}`;
      log(`services: ${servicesNote}; going on with one service`);
      await upA.stop(5000);
      procs.splice(procs.indexOf(upA), 1);
      withServices = false;
      writeConfigA();
      upA = startJson(BIN, ['up', '--config', path.join(home, 'a.yaml')], {
        cwd: home,
        env,
        keep: (line) => KEEP.has(String(line.type)),
      });
      procs.push(upA);
      readyA = await upA.waitFor((l) => l.type === 'ready', 90_000, 'ready line of up A');
    }
    const upB = startJson(BIN, ['up', '--config', path.join(home, 'b.yaml')], {
      cwd: home,
      env,
      keep: (line) => KEEP.has(String(line.type)),
    });
    procs.push(upB);
    const readyB = await upB.waitFor((l) => l.type === 'ready', 90_000, 'ready line of up B');
    const sockets = new Map<string, string>([
      ['up-a', String(readyA.socket)],
      ['up-b', String(readyB.socket)],
      ['relay', String(relayReady.socket)],
    ]);
    const pids = new Map<string, number>([
      ['up-a', upA.pid],
      ['up-b', upB.pid],
      ['relay', relay.pid],
    ]);

    const makeLoad = (port: number, scale: 'full' | 'light') =>
      new Load(
        scale === 'full'
          ? { port, everyMs: 20, streams: 50, interactive: 5, neverReading: 1, timeoutMs: 15_000 }
          : { port, everyMs: 100, streams: 10, interactive: 2, neverReading: 0, timeoutMs: 15_000 },
      );
    const fileMap = (ids: string[]) => new Map(ids.map((id) => [id, file(id)]));
    instances.push({
      name: 'a',
      service: withServices ? 'main' : 'default',
      proc: upA,
      port: portA,
      paths: idsA,
      faultFiles: fileMap(idsA),
      load: makeLoad(portA, 'full'),
      resume: false,
    });
    if (withServices) {
      instances.push({
        name: 'a-second',
        service: 'second',
        proc: upA,
        port: portA2,
        paths: idsA2,
        faultFiles: fileMap(idsA2),
        load: makeLoad(portA2, 'light'),
        resume: false,
      });
    }
    instances.push({
      name: 'b-resume',
      service: 'default',
      proc: upB,
      port: portB,
      paths: idsB,
      faultFiles: fileMap(idsB),
      load: makeLoad(portB, 'light'),
      resume: true,
    });

    const plan: Plan = makePlan({
      seed: options.seed,
      durationMs,
      instances: instances.map((instance) => ({
        name: instance.name,
        paths: instance.paths.map((id) => `${instance.name}/${id}`),
        reload: instance.name === 'a' && caps.reload,
      })),
      slowLatencyMs: SLOW_LATENCY_MS,
    });
    writeFileSync(path.join(options.out, 'plan.json'), JSON.stringify(plan, null, 1));
    log(
      `plan: ${plan.steps.length} steps (${Object.entries(countByKind(plan.steps))
        .map(([k, n]) => `${k} ${n}`)
        .join(
          ', ',
        )}); capabilities: services ${caps.services ? (withServices ? 'yes, used' : 'yes, left out') : 'no'}, reload ${caps.reload ? 'yes' : 'no'}`,
    );

    // The load first, alone for the warm-up; then the plan.
    const warmStart = Date.now();
    for (const instance of instances) instance.load.start();
    log(`warm-up: ${WARM_UP_MS / 1000} s of load without faults`);
    await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
    for (const p of procs)
      if (p.exited)
        throw new Error(
          `a tunnelmux process (pid ${p.pid}) exited during the warm-up; stderr: ${p.stderr()}`,
        );
    const startedAt = Date.now();
    const applied = new Map<string, string>();
    const reloads: { at: number; exitCode?: number; stderr?: string }[] = [];
    const done = new Set<FaultStep>();
    let fall = 2;
    const tick = () => {
      const now = Date.now() - startedAt;
      for (const instance of instances) {
        for (const id of instance.paths) {
          const key = `${instance.name}/${id}`;
          const active = plan.steps.filter(
            (s) => s.target === key && s.at <= now && now < s.at + s.durationMs,
          );
          const faults = faultsFor(active, SLOW_LATENCY_MS);
          const text = JSON.stringify(faults);
          if (applied.get(key) !== text) {
            applied.set(key, text);
            writeFaults(instance.faultFiles.get(id)!, faults);
          }
        }
      }
      for (const step of plan.steps) {
        if (step.kind !== 'reload' || done.has(step) || step.at > now) continue;
        done.add(step);
        fall = fall === 2 ? 3 : 2;
        writeConfigA(fall);
        const at = Date.now();
        void execa(process.execPath, [BIN, 'reload', '--name', 'soak-a', '--json'], {
          env,
          extendEnv: false,
          reject: false,
          timeout: 30_000,
        }).then((r) =>
          reloads.push({
            at,
            exitCode: r.exitCode,
            stderr: r.exitCode === 0 ? undefined : r.stderr.slice(0, 500),
          }),
        );
      }
    };
    planTimer = setInterval(tick, 100);
    tick();

    // Sample every 2 s: /proc for RSS and fds, `info` for heap and handles, and every descendant seen.
    const samples: Sample[] = [];
    const sample = async () => {
      const now = Date.now();
      for (const entry of descendants([...pids.values()])) seen.set(entry.pid, entry);
      await Promise.all(
        [...pids].map(async ([who, pid]) => {
          const outside = memoryAndFds(pid);
          const info = await ask(sockets.get(who)!, 'info', 5000).catch(() => undefined);
          const inside = info?.process as Record<string, number> | undefined;
          samples.push({
            t: now,
            who,
            rssBytes: outside?.rssBytes,
            fds: outside?.fds,
            heapUsedBytes: inside?.heapUsedBytes,
            activeResources: inside?.activeResources,
            heapTotalBytes: inside?.heapTotalBytes,
            externalBytes: inside?.externalBytes,
            arrayBuffersBytes: inside?.arrayBuffersBytes,
          });
        }),
      );
    };
    let sampling = Promise.resolve();
    sampleTimer = setInterval(() => {
      sampling = sampling.then(sample, sample);
    }, 2000);

    // Progress once a minute, so a long run shows it is alive.
    const endAt = startedAt + durationMs;
    while (Date.now() < endAt) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(60_000, endAt - Date.now())));
      const a = instances[0]!.load.attempts;
      const failed = a.filter((x) => x.outcome === 'failed').length;
      log(
        `${((Date.now() - startedAt) / 60_000).toFixed(1)} min: ${a.length} connections on a, ${failed} failed; up a ${upA.exited ? 'EXITED' : 'alive'}`,
      );
      for (const p of procs)
        if (p.exited)
          failures.push(
            `a tunnelmux process (pid ${p.pid}) exited during the run (code ${p.exitCode}); stderr: ${p.stderr()}`,
          );
      if (procs.some((p) => p.exited)) break;
    }
    clearInterval(planTimer);
    for (const instance of instances)
      for (const id of instance.paths) writeFaults(instance.faultFiles.get(id)!, {});
    const loadEnd = Date.now();
    await Promise.all(instances.map((instance) => instance.load.stop()));
    clearInterval(sampleTimer);
    await sampling;

    // Dropped events, from each instance's own metrics.
    const dropped: Record<string, unknown> = {};
    for (const [who, socket] of sockets) {
      const metrics = await ask(socket, 'metrics', 5000).catch((error: Error) => ({ error: error.message }));
      dropped[who] =
        (metrics as Record<string, unknown>).eventsDropped ??
        (metrics as Record<string, unknown>).eventsDropped ??
        'n/a';
    }
    for (const entry of descendants([...pids.values()])) seen.set(entry.pid, entry);

    // Stop everything and check nothing is left behind.
    const stops = await Promise.all(
      [upA, upB, relay].map(async (p) => ({ pid: p.pid, stderr: p.stderr, ...(await p.stop(20_000)) })),
    );
    for (const stop of stops) {
      if (stop.killed || stop.code !== 0)
        // Its last words: a stop still running after 10 s says which stage it waits in.
        failures.push(
          `pid ${stop.pid} did not stop cleanly on SIGTERM: code ${stop.code}, signal ${stop.signal}; stderr ends: ${stop.stderr().slice(-1500) || '(nothing)'}`,
        );
    }
    let leftovers: number[] = [];
    for (let i = 0; i < 50; i++) {
      leftovers = [
        ...new Set([
          ...[...seen.values()].filter(stillThere).map((e) => e.pid),
          ...processesMentioning(home),
        ]),
      ];
      if (leftovers.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (leftovers.length > 0)
      failures.push(`${leftovers.length} child process(es) left after stop: pids ${leftovers.join(', ')}`);

    // Classify every connection against the timeline.
    const window: Span = { from: warmStart, to: loadEnd };
    const perInstance = instances.map((instance) => {
      const timelines: PathTimeline[] = instance.paths.map((id) => {
        const key = `${instance.name}/${id}`;
        return {
          id,
          states: [
            // Every state change since the process started (paths open before the ready line), so nothing
            // depends on the ready line's shape.
            { time: 0, state: 'disconnected' },
            ...instance.proc.lines
              .filter(
                (l) =>
                  l.type === 'state-change' &&
                  l.pathId === id &&
                  String(l.service ?? 'default') === instance.service,
              )
              .map((l) => ({ time: Number(l.time), state: String(l.to) })),
          ],
          dead: plan.steps
            .filter((s) => s.target === key && DEAD_KINDS.includes(s.kind))
            .map((s) => ({ from: startedAt + s.at, to: startedAt + s.at + s.durationMs })),
        };
      });
      const none = noHealthySpans(timelines, window);
      const attempts = instance.load.attempts;
      const bucket = (outcome: Attempt['outcome']) => {
        const list = attempts.filter((a) => a.outcome === outcome);
        const healthy = list.filter((a) => classify(a, none, GRACE_MS) === 'healthy');
        return {
          total: list.length,
          whileHealthy: healthy.length,
          whileNoneHealthy: list.length - healthy.length,
          examples: healthy.slice(0, 10).map((a) => ({ ...a, at: new Date(a.from).toISOString() })),
        };
      };
      const events = instance.proc.lines.filter(
        (l) => String(l.service ?? 'default') === instance.service || l.service === undefined,
      );
      return {
        name: instance.name,
        port: instance.port,
        resume: instance.resume,
        paths: instance.paths,
        attempted: attempts.length,
        ok: attempts.filter((a) => a.outcome === 'ok').length,
        failedNew: bucket('failed'),
        cutAfterBanner: bucket('cut'),
        noHealthyMs: totalMs(none),
        noHealthySpans: none.length,
        primaryChanges: events.filter((l) => l.type === 'primary-change').length,
        failovers: events.filter((l) => l.type === 'failover').length,
        refusals: events.filter((l) => l.type === 'connection-refused').length,
        load: instance.load.figures(),
        none,
      };
    });

    // Resource slopes over the last two thirds, per process.
    const slopes: Record<
      string,
      Record<string, { perMinute: number; window: number; limit: string; ok: boolean }>
    > = {};
    for (const who of pids.keys()) {
      const mine = samples.filter((s) => s.who === who).sort((a, b) => a.t - b.t);
      slopes[who] = {};
      for (const [metric, limit] of Object.entries(LIMITS)) {
        const fit = fitSlope(mine, metric as keyof typeof LIMITS);
        if ('few' in fit) {
          failures.push(`${who}: too few ${metric} samples (${fit.few}) for a fit`);
          continue;
        }
        const { perMinute, windowMs } = fit;
        const perWindow = options.minutes < 10 ? limit.shortRunWindow : limit.perWindow;
        const allowedPerMinute = Math.max(limit.perMinute, perWindow / (windowMs / 60_000));
        const ok = perMinute <= allowedPerMinute;
        slopes[who]![metric] = {
          perMinute: round(perMinute),
          window: round(fit.window),
          limit: `${round(allowedPerMinute)}/min`,
          ok,
        };
        if (!ok)
          failures.push(
            `${who}: ${metric} grows ${round(perMinute)} per minute over the last two thirds (limit ${round(allowedPerMinute)})`,
          );
      }
      for (const metric of EXPLAINING) {
        const fit = fitSlope(mine, metric);
        if ('few' in fit) continue;
        slopes[who]![metric] = {
          perMinute: round(fit.perMinute),
          window: round(fit.window),
          limit: 'reported only',
          ok: true,
        };
      }
    }

    for (const result of perInstance) {
      if (result.load.corruptedBytes > 0 || result.load.digestsDiffered > 0) {
        failures.push(
          `${result.name}: ${result.load.corruptedBytes} corrupted or reordered bytes, ${result.load.digestsDiffered} sha256 mismatches: ${result.load.corruptions.slice(0, 3).join('; ')}`,
        );
      }
      if (result.failedNew.whileHealthy > 0) {
        failures.push(
          `${result.name}: ${result.failedNew.whileHealthy} new connections failed while a path was healthy, e.g. ${JSON.stringify(result.failedNew.examples.slice(0, 3))}`,
        );
      }
      if (result.ok === 0) failures.push(`${result.name}: not one connection succeeded`);
    }
    const firehoseLimit = 64 * 1024 * 1024;
    if (target.maxFirehoseBytes >= firehoseLimit) {
      failures.push(
        `a never-reading client let the target write ${target.maxFirehoseBytes} bytes (limit ${firehoseLimit}): something buffers without bound`,
      );
    }
    const garbage = procs.flatMap((p) => p.garbage);
    if (garbage.length > 0)
      failures.push(`--json printed lines that are not JSON: ${JSON.stringify(garbage.slice(0, 3))}`);

    const injected = countByKind(plan.steps.filter((s) => s.at < loadEnd - startedAt));
    const summary = {
      seed: options.seed,
      minutes: round((loadEnd - startedAt) / 60_000),
      warmUpMinutes: round((startedAt - warmStart) / 60_000),
      // Epoch ms: the plan's step times (plan.json) count from here.
      startedAt,
      replay: replayCommand(options),
      capabilities: { ...caps, servicesUsed: withServices, servicesNote },
      graceMs: GRACE_MS,
      limits: LIMITS,
      faultsInjected: injected,
      outages: new Set(
        plan.steps
          .filter((s) => s.outage && s.at < loadEnd - startedAt)
          .map((s) => `${s.target.split('/')[0]}@${s.at}`),
      ).size,
      reloads,
      instances: perInstance.map(({ none, ...rest }) => rest),
      totals: {
        attempted: sum(perInstance, (r) => r.attempted),
        failedWhileHealthy: sum(perInstance, (r) => r.failedNew.whileHealthy),
        failedWhileNoneHealthy: sum(perInstance, (r) => r.failedNew.whileNoneHealthy),
        cutAfterBanner: sum(perInstance, (r) => r.cutAfterBanner.total),
        verifiedBytes: sum(perInstance, (r) => r.load.verifiedBytes),
        corruptedBytes: sum(perInstance, (r) => r.load.corruptedBytes),
        digestsMatched: sum(perInstance, (r) => r.load.digestsMatched),
      },
      maxFirehoseBytes: target.maxFirehoseBytes,
      slopes,
      eventsDropped: dropped,
      leftovers,
      failures,
      ok: failures.length === 0,
    };
    writeFileSync(path.join(options.out, 'summary.json'), JSON.stringify(summary, null, 2));
    writeFileSync(path.join(options.out, 'samples.json'), JSON.stringify(samples));
    // What each process said (state changes, refusals, primary changes...), to look into any failure.
    for (const [who, p] of [
      ['up-a', upA],
      ['up-b', upB],
      ['relay', relay],
    ] as const) {
      writeFileSync(
        path.join(options.out, `events-${who}.ndjson`),
        p.lines.map((l) => JSON.stringify(l)).join('\n'),
      );
    }
    writeFileSync(
      path.join(options.out, 'timeline.json'),
      JSON.stringify(perInstance.map((r) => ({ name: r.name, noHealthy: r.none }))),
    );
    const { renderChart } = await import('./chart');
    writeFileSync(
      path.join(options.out, 'chart.svg'),
      renderChart({
        startedAt,
        endAt: loadEnd,
        samples,
        instances: perInstance.map((r, i) => ({
          name: r.name,
          attempts: instances[i]!.load.attempts,
          none: r.none,
          primaryChanges: instances[i]!.proc.lines.filter(
            (l) => l.type === 'primary-change' && String(l.service ?? 'default') === instances[i]!.service,
          ).map((l) => Number(l.time)),
        })),
        seed: options.seed,
      }),
    );
    const report = [
      `minutes ${summary.minutes}; faults ${JSON.stringify(summary.faultsInjected)}; outages of every path ${summary.outages}`,
      ...perInstance.map(
        (i) =>
          `${i.name}${i.resume ? ' (resume)' : ''}: ${i.attempted} connections, failed while healthy ${i.failedNew.whileHealthy}, failed while none healthy ${i.failedNew.whileNoneHealthy}, cut after banner ${i.cutAfterBanner.total}; no healthy path ${(i.noHealthyMs / 1000).toFixed(1)} s in ${i.noHealthySpans} spans; ${i.primaryChanges} primary changes; ${i.load.verifiedBytes} bytes verified, ${i.load.corruptedBytes} corrupted; interactive echo p99 ${i.load.interactiveP99Ms} ms`,
      ),
      `slopes per minute over the last two thirds: ${Object.entries(slopes)
        .map(
          ([who, m]) =>
            `${who} ${Object.entries(m)
              .map(([k, v]) => `${k} ${v.perMinute}${v.ok ? '' : ' (OVER)'}`)
              .join(', ')}`,
        )
        .join('; ')}`,
      `events dropped: ${JSON.stringify(dropped)}; leftover processes: ${leftovers.length}; firehose max ${target.maxFirehoseBytes} bytes`,
    ];
    return { ok: failures.length === 0, failures, summary, report };
  } finally {
    clearInterval(planTimer);
    clearInterval(sampleTimer);
    await Promise.all(instances.map((instance) => instance.load.stop().catch(() => undefined)));
    for (const p of procs) if (!p.exited) await p.stop(5000).catch(() => undefined);
    for (const cleanup of cleanups) await cleanup();
  }
}

export function replayCommand(options: Pick<SoakOptions, 'minutes' | 'seed'>): string {
  return `pnpm soak --minutes ${options.minutes} --seed ${options.seed}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}

export type { LoadStats };
