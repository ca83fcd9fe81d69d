import net from 'node:net';
import { createManager, type PathStatus, type TunnelmuxEvent } from '@tunnelmux/core';
import { createLocalProvider } from '../local/local-provider';
import { describeEvent, NOISY_EVENTS, offset } from '../scenario/timeline';
import { FaultPlan } from '../targets/fault-plan';
import { startBannerTarget } from '../targets/servers';

export interface DemoOptions {
  /** Where lines go (default console.log). */
  write?: (line: string) => void;
  /** The forwarder script (default testkit's built one; the CLI passes its own copy). */
  forwarderScript?: string;
  /** Stretch (> 1) or shrink (< 1) every scripted time; 1 runs about 12 s. */
  scale?: number;
}

/** What the demo saw, for its summary and for tests. */
export interface DemoSummary {
  connections: { ok: number; failed: number };
  switches: Array<{ at: number; from?: string; to?: string; reason: string }>;
  failovers: number;
  durationMs: number;
  finalPrimary?: string;
}

const PATHS = ['a', 'b', 'c'] as const;

/**
 * A self-contained failover show: a banner target, three local stand-in paths (priorities 1, 2, 3), a client
 * connecting through the front door every 50 ms, and scripted faults: crash the primary, black-hole the next,
 * let both recover. Prints a timeline and a summary table.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const write = options.write ?? ((line: string) => console.log(line));
  const scale = options.scale ?? 1;
  const at = (seconds: number) => Math.round(seconds * 1000 * scale);
  const t0 = Date.now();
  const stamp = (time = Date.now()) => offset(time, t0).padStart(8);
  const note = (text: string) => write(`${stamp()}  >>> ${text}`);

  const target = await startBannerTarget('SSH-2.0-tunnelmux-demo\r\n');
  const plan = new FaultPlan('tunnelmux-demo-');
  const manager = createManager({
    target: { host: target.host, port: target.port },
    protocol: 'ssh',
    providers: [createLocalProvider({ forwarderScript: options.forwarderScript })],
    metricsInterval: 0,
    failover: {
      interval: 300,
      timeout: 800,
      maxLatency: 600,
      fall: 2,
      rise: 2,
      minDwell: at(4),
      backoffInitial: 300,
      backoffMax: 1500,
      openTimeout: 15_000,
    },
  });
  const switches: DemoSummary['switches'] = [];
  // The show ends at shutdown: what stopping every path emits is not part of the story.
  let showing = true;
  // Failed dials come in bursts (every held client at once); print the first, count the rest.
  let burst: { pathId: string; until: number; more: number } | undefined;
  const flushBurst = () => {
    if (burst && burst.more > 0)
      write(`${' '.repeat(10)}... and ${burst.more} more failed dials on ${burst.pathId}`);
    burst = undefined;
  };
  manager.events.on((event: TunnelmuxEvent) => {
    if (!showing) return;
    if (event.type === 'primary-change') {
      switches.push({ at: event.time - t0, from: event.from, to: event.to, reason: event.reason });
    }
    if (NOISY_EVENTS.has(event.type) || event.type === 'state-change') return;
    if (event.type === 'dial-failed') {
      const current = burst;
      if (current && current.pathId === event.pathId && event.time <= current.until) {
        current.more += 1;
        return;
      }
      flushBurst();
      burst = { pathId: event.pathId, until: event.time + 1000, more: 0 };
    } else {
      flushBurst();
    }
    write(`${stamp(event.time)}  ${describeEvent(event)}`);
  });

  const connections = { ok: 0, failed: 0 };
  let load: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();
  let summary: DemoSummary;
  try {
    write('tunnelmux demo: one target, three paths (a, b, c by priority), a client every 50 ms');
    write(`target: ${target.host}:${target.port} (answers with an SSH banner)`);
    const results = await manager.startMultiple(
      PATHS.map((id, index) => ({
        id,
        provider: 'local',
        priority: index + 1,
        options: { faultFile: plan.fileFor(id) },
      })),
    );
    for (const result of results) {
      if (!result.ok)
        throw new Error(`[tunnelmux] [demo] path "${result.id}" did not start: ${result.error.message}`);
    }
    // A short first-byte wait shows first-byte failover: a client held by a silent path moves on quickly.
    const door = await manager.listen({ host: '127.0.0.1', port: 0, firstByteTimeout: 600 });
    write(`${stamp()}  front door listening on 127.0.0.1:${door.address.port}`);
    // The script runs from here, so a slow start does not eat into it.
    const go = Date.now();
    try {
      load = setInterval(() => {
        const attempt = readBannerOnce(door.address.port, 2000).then(
          () => {
            connections.ok += 1;
          },
          () => {
            connections.failed += 1;
          },
        );
        inFlight.add(attempt);
        void attempt.finally(() => inFlight.delete(attempt));
      }, 50);

      await sleepUntil(go + at(3));
      const crashed = manager.getPrimary() ?? 'a';
      const pid = manager.status(crashed).pid;
      note(`crash ${crashed}: SIGKILL its process${pid ? ` (pid ${pid})` : ''}`);
      if (pid) process.kill(pid, 'SIGKILL');

      await sleepUntil(go + at(5.5));
      const holed = manager.getPrimary() ?? 'b';
      note(`black-hole ${holed}: it accepts connections and never answers`);
      plan.set(holed, { mode: 'blackhole' });

      await sleepUntil(go + at(8.5));
      note(`${holed} recovers: black hole lifted`);
      plan.clear(holed);

      await sleepUntil(go + at(12));
      clearInterval(load);
      load = undefined;
      await Promise.all([...inFlight]);
    } finally {
      await door.close();
    }
  } finally {
    if (load) clearInterval(load);
    const finalPrimary = manager.getPrimary();
    const metrics = manager.getMetrics();
    const paths = manager.list();
    showing = false;
    flushBurst();
    await manager.shutdown();
    await target.close();
    plan.dispose();
    summary = {
      connections,
      switches,
      failovers: metrics.failovers,
      durationMs: Date.now() - t0,
      finalPrimary,
    };
    writeSummary(write, summary, paths);
  }
  return summary;
}

function writeSummary(write: (line: string) => void, summary: DemoSummary, paths: PathStatus[]): void {
  const { ok, failed } = summary.connections;
  write('');
  write('summary');
  write(`  client connections   ${ok} ok, ${failed} failed (${ok + failed} total)`);
  write(`  failovers            ${summary.failovers}`);
  write(`  final primary        ${summary.finalPrimary ?? '(none)'}`);
  write('  primary switches');
  for (const change of summary.switches) {
    write(
      `    ${offset(change.at, 0).padStart(8)}  ${change.from ?? '(none)'} -> ${change.to ?? '(none)'}  ${change.reason}`,
    );
  }
  write('  paths');
  write(
    `    ${'id'.padEnd(4)}${'state'.padEnd(14)}${'restarts'.padEnd(10)}${'probe p50'.padEnd(11)}connections`,
  );
  for (const path of paths) {
    const p50 = path.latency.p50 === undefined ? '-' : `${path.latency.p50.toFixed(1)} ms`;
    write(
      `    ${path.id.padEnd(4)}${path.state.padEnd(14)}${String(path.restarts).padEnd(10)}${p50.padEnd(11)}${path.totalConnections}`,
    );
  }
  write(`  took ${(summary.durationMs / 1000).toFixed(1)} s`);
}

function sleepUntil(when: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, when - Date.now())));
}

/** One client: connect to the front door and read the banner. */
function readBannerOnce(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (error?: Error, banner?: string) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(banner!);
    };
    const timer = setTimeout(() => finish(new Error(`no banner within ${timeoutMs} ms`)), timeoutMs);
    socket.once('data', (chunk) => {
      const text = chunk.toString('latin1');
      if (text.startsWith('SSH-')) finish(undefined, text);
      else finish(new Error(`unexpected first bytes ${JSON.stringify(text.slice(0, 20))}`));
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error('closed before the banner')));
  });
}
