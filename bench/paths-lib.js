// Pieces shared by many-paths.js and scaling.js: a port farm standing in for N tunnels' local ports, the manager
// and HAProxy each in their own process probing those ports, and per-process CPU/RSS read from /proc, so the
// manager's figure is its own and HAProxy's sits beside it measured the same way.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, HOST, onCleanup, sleep, start, which } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A scratch folder removed when the script ends. */
export function scratch() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-bench-paths-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `n` SSH-banner ports in one separate process; `count()` is how many connections it has accepted. */
export async function startPortFarm(n) {
  const proc = start(process.execPath, [path.join(here, 'children/port-farm.js'), String(n)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  onCleanup(() => proc.stop());
  const line = await proc.waitForLine(/^ports /, 60_000);
  const ports = line.slice('ports '.length).split(',').map(Number);
  // Answers to `count`, in order; a second listener on the same stdout as start()'s line keeper.
  const waiting = [];
  let rest = '';
  proc.child.stdout.on('data', (text) => {
    const parts = (rest + text).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      if (line.startsWith('count ')) waiting.shift()?.(Number(line.slice('count '.length)));
    }
  });
  return {
    ...proc,
    ports,
    count() {
      return new Promise((resolve) => {
        waiting.push(resolve);
        proc.child.stdin.write('count\n');
      });
    },
  };
}

/**
 * The manager in its own process over the first `paths` farm ports; resolves once every path has started.
 * `nodeArgs` go to node (e.g. `--trace-gc`), `args` to the child (e.g. `--cpu-prof-steady=FILE`); `log` is a
 * file that gets everything the child prints (the kept lines are bounded).
 */
export async function startManagerChild(
  dir,
  ports,
  { paths, interval = 2000, listen = false, subscribe = false, nodeArgs = [], args: extra = [], log },
) {
  const file = path.join(dir, `ports-${paths}.txt`);
  writeFileSync(file, ports.slice(0, Math.max(1, paths)).join(','));
  const args = [
    // The young-generation cap `tunnelmux up` runs with (packages/cli/src/util/daemon-heap.ts): measure it as run.
    '--max-semi-space-size=8',
    ...nodeArgs,
    path.join(here, 'children/manager.js'),
    `--ports-file=${file}`,
    `--paths=${paths}`,
    `--interval=${interval}`,
  ];
  if (listen) args.push('--listen');
  if (subscribe) args.push('--subscribe');
  args.push(...extra);
  const proc = start(process.execPath, args);
  if (log)
    for (const stream of [proc.child.stdout, proc.child.stderr])
      stream.on('data', (text) => appendFileSync(log, text));
  const ready = await proc.waitForLine(/^ready \d+\/\d+/, 10 * 60_000);
  const door = listen ? Number((await proc.waitForLine(/^door \d+/)).slice('door '.length)) : undefined;
  return { ...proc, connected: ready.slice('ready '.length), door };
}

/** The bare Node probe loop (children/probe-floor.js) over the first `paths` farm ports: Node's own floor. */
export async function startProbeFloor(dir, ports, { paths, interval = 2000 }) {
  const file = path.join(dir, `floor-ports-${paths}.txt`);
  writeFileSync(file, ports.slice(0, Math.max(1, paths)).join(','));
  const proc = start(process.execPath, [
    // The same young-generation cap as the manager child, so the two differ only in what runs.
    '--max-semi-space-size=8',
    path.join(here, 'children/probe-floor.js'),
    `--ports-file=${file}`,
    `--paths=${paths}`,
    `--interval=${interval}`,
  ]);
  await proc.waitForLine(/^ready \d+/, 60_000);
  return proc;
}

/**
 * The same checks from a C epoll loop (children/probe-floor.c, built here with `cc`): what the kernel alone costs
 * for them, under any runtime. Undefined when no C compiler is installed (the figure is then skipped).
 */
export async function startProbeFloorC(dir, ports, { paths, interval = 2000 }) {
  const cc = which('cc') ?? which('gcc');
  if (!cc) return undefined;
  const binary = path.join(dir, 'probe-floor');
  execFileSync(cc, ['-O2', '-o', binary, path.join(here, 'children/probe-floor.c')], { stdio: 'pipe' });
  const file = path.join(dir, `c-floor-ports-${paths}.txt`);
  writeFileSync(file, ports.slice(0, Math.max(1, paths)).join(','));
  const proc = start(binary, [file, String(paths), String(interval)]);
  onCleanup(() => proc.stop());
  await proc.waitForLine(/^ready \d+/, 10_000);
  return proc;
}

/** HAProxy checking every port with `tcp-check expect string SSH-` every `interval` ms: the anchor. */
export async function startHaproxyChecks(haproxy, dir, ports, interval = 2000) {
  const config = path.join(dir, `haproxy-${ports.length}.cfg`);
  // HAProxy refuses to run without a listener; this one is never dialled.
  const front = await freePort();
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 4000',
      'defaults',
      '  mode tcp',
      '  timeout connect 1s',
      '  timeout client 10s',
      '  timeout server 10s',
      '  timeout check 1s',
      'frontend door',
      `  bind ${HOST}:${front}`,
      '  default_backend paths',
      'backend paths',
      '  option tcp-check',
      '  tcp-check expect string SSH-',
      ...ports.map((port, i) => `  server s${i} ${HOST}:${port} check inter ${interval} fall 3 rise 2`),
      '',
    ].join('\n'),
  );
  const proc = start(haproxy, ['-f', config, '-db']);
  onCleanup(() => proc.stop());
  // HAProxy prints nothing when it starts well; give it a moment and make sure it is still alive.
  await sleep(500);
  if (!proc.alive()) throw new Error(`haproxy did not start: ${proc.lastLines().join(' | ')}`);
  return proc;
}

/** utime + stime of a process (all its threads, living and dead), in ms. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

function rssBytes(pid) {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Sockets in TIME_WAIT to or from one of `ports` (the farm's), from /proc/net/tcp. */
export function timeWait(ports) {
  const hex = new Set([...ports].map((port) => port.toString(16).toUpperCase().padStart(4, '0')));
  let count = 0;
  for (const row of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    // sl local_address rem_address st ...; st 06 = TIME_WAIT.
    const [, local, remote, state] = row.trim().split(/\s+/);
    if (state !== '06') continue;
    if (hex.has(local.slice(-4)) || hex.has(remote.slice(-4))) count += 1;
  }
  return count;
}

/**
 * CPU share (of one core) and RSS of process `pid` over `windowMs`, plus the farm's accepted connections in
 * that window (the probes made), and TIME_WAIT sockets at its end.
 */
export async function sampleProcess(pid, windowMs, farm) {
  const rss = [];
  const probes0 = farm ? await farm.count() : 0;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const end = t0 + windowMs;
  while (performance.now() < end) {
    await sleep(Math.min(1000, end - performance.now()));
    rss.push(rssBytes(pid));
  }
  const cpu = cpuMs(pid) - cpu0;
  const wall = performance.now() - t0;
  const probes = farm ? (await farm.count()) - probes0 : 0;
  return {
    cpuMs: cpu,
    cpuShare: cpu / wall,
    rssMean: rss.reduce((a, b) => a + b, 0) / rss.length,
    rssMax: Math.max(...rss),
    probes,
    wall,
    timeWait: farm ? timeWait(farm.ports) : Number.NaN,
    load: os.loadavg()[0],
  };
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};
