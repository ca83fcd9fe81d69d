// Shared pieces of the benchmark scripts: figures, child processes that are always cleaned up, loopback helpers.
import { spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const HOST = '127.0.0.1';
/** `--quick`: fewer rounds and shorter runs, for a smoke check. */
export const QUICK = process.argv.includes('--quick');

// ---------------------------------------------------------------- built packages

const BUILD_HINT = 'build them first: pnpm turbo run build --filter=@tunnelmux/testkit...';

/**
 * Import core and testkit from their built `dist`, or exit with how to build them. Waits out a rebuild in
 * progress (other work on the same checkout may be running tsup, which empties `dist` for a while).
 */
export async function loadBuilt() {
  const files = {
    core: path.join(ROOT, 'packages/core/dist/index.js'),
    testkit: path.join(ROOT, 'packages/testkit/dist/index.js'),
  };
  for (let attempt = 1; ; attempt += 1) {
    const missing = Object.entries(files).filter(([, file]) => !existsSync(file));
    try {
      if (missing.length > 0) throw new Error(`${missing.map(([name]) => name).join(' and ')} not built`);
      // A query string per attempt: a failed import is cached under its URL.
      const [core, testkit] = await Promise.all([
        import(`${pathToFileURL(files.core).href}?attempt=${attempt}`),
        import(`${pathToFileURL(files.testkit).href}?attempt=${attempt}`),
      ]);
      return { core, testkit };
    } catch (error) {
      if (attempt >= 12) {
        console.error(`error: cannot load the built packages (${error.message}); ${BUILD_HINT}`);
        process.exit(2);
      }
      await sleep(5000);
    }
  }
}

/**
 * A private copy of testkit's built forwarder (it imports only Node built-ins and its own chunks), so a
 * rebuild of testkit during a run cannot pull the script out from under the paths that spawn it.
 */
export async function snapshotForwarder() {
  const dist = path.join(ROOT, 'packages/testkit/dist');
  const copy = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-bench-forwarder-'));
  onCleanup(() => rmSync(copy, { recursive: true, force: true }));
  for (let attempt = 1; ; attempt += 1) {
    try {
      cpSync(dist, copy, { recursive: true, filter: (file) => !file.endsWith('.map') });
      const script = path.join(copy, 'bin', 'forwarder.js');
      // It must start and say it listens; the target is never dialled because nothing connects.
      const proc = start(process.execPath, [script, '--target', '127.0.0.1:9']);
      try {
        await proc.waitForLine(/^listening on 127\.0\.0\.1:\d+/, 15_000);
      } finally {
        await proc.stop();
      }
      return script;
    } catch (error) {
      if (attempt >= 12)
        throw new Error(`testkit's forwarder is not usable: ${error.message}; ${BUILD_HINT}`);
      rmSync(copy, { recursive: true, force: true });
      await sleep(5000);
    }
  }
}

/** Options schema for bench providers that take none (a Standard Schema without zod). */
export const noOptions = {
  '~standard': {
    version: 1,
    vendor: 'tunnelmux-bench',
    validate: (value) =>
      value && typeof value === 'object' && Object.keys(value).length === 0
        ? { value: {} }
        : { issues: [{ message: 'this bench provider takes no options' }] },
  },
};

/**
 * An in-process path whose `dial` connects straight to the target: one hop, like HAProxy or socat, so a
 * comparison measures the front door itself and nothing else.
 */
export function directProvider(core) {
  return core.defineProvider({
    apiVersion: 1,
    name: 'bench-direct',
    summary: 'benchmark stand-in: dial goes straight to the target, in process',
    access: {
      options: noOptions,
      async open(_options, ctx) {
        let close;
        const done = new Promise((resolve) => {
          close = () => resolve({ reason: 'closed' });
        });
        return {
          endpoint: `${ctx.target.host}:${ctx.target.port}`,
          done,
          dial: (signal) => ctx.dialTcp(ctx.target, { signal, timeoutMs: 5000 }),
          async close() {
            close();
          },
        };
      },
    },
  });
}

// ---------------------------------------------------------------- figures

/** Sorted copy, percentiles by nearest rank. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (p) =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const mean = sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    mean,
    p50: pick(50),
    median: pick(50),
    p90: pick(90),
    p99: pick(99),
  };
}

export const ms = (value, digits = 1) => (Number.isFinite(value) ? `${value.toFixed(digits)} ms` : 'n/a');
export const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const ratio = (value, base) => (base > 0 ? `${(value / base).toFixed(2)}x` : 'n/a');
export const pct = (value) => `${(value * 100).toFixed(1)}%`;

/** One figure per line, prefixed with the script's name, so the lines can be pasted into notes as they are. */
export function reporter(name) {
  return {
    title(text) {
      console.log(`\n== ${name}: ${text}${QUICK ? ' (--quick)' : ''}`);
      // Other work on the machine moves every figure; say how busy it was.
      console.log(
        `${name}:   (node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)} at start)`,
      );
    },
    figure(label, text) {
      console.log(`${name}: ${label}: ${text}`);
    },
    note(text) {
      console.log(`${name}:   (${text})`);
    },
    skipped(tool, pkg) {
      console.log(`${name}: skipped: ${tool} not installed (apt-get install ${pkg})`);
    },
  };
}

// ---------------------------------------------------------------- tools

/** The executable for `command` on PATH (plus the sbin folders, where Debian puts haproxy), or undefined. */
export function which(command) {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here; keep looking.
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- cleanup

const cleanups = [];
const children = new Set();

/** Run `fn` when the script ends, normally or by signal; newest first. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

let cleaning;
/** Run every cleanup (bounded), then kill any child still alive. */
export function cleanup() {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      await Promise.race([Promise.resolve().then(fn), sleep(5000)]).catch((error) =>
        console.error(`cleanup: ${error?.message ?? error}`),
      );
    }
    killChildren();
  })();
  return cleaning;
}

function killChildren() {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    try {
      // A stopped process must be continued to act on anything but SIGKILL; SIGKILL needs no help.
      process.kill(child.pid, 'SIGCONT');
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** End the script after `limitMs` whatever happens, cleaning up first: a benchmark never hangs. */
export function watchdog(limitMs, name) {
  setTimeout(() => {
    console.error(`${name}: gave up after ${Math.round(limitMs / 1000)} s (watchdog)`);
    void cleanup().finally(() => process.exit(1));
  }, limitMs).unref();
}

/** Run the main function of a script, clean up, and set the exit code. */
export async function main(name, limitMs, fn) {
  watchdog(limitMs, name);
  try {
    await fn();
    await cleanup();
    process.exit(0);
  } catch (error) {
    console.error(`${name}: failed: ${error?.stack ?? error}`);
    await cleanup();
    process.exit(1);
  }
}

// ---------------------------------------------------------------- child processes

/** Spawn a process that is killed when the script ends; output is kept (bounded) for readiness and errors. */
export function start(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  const lines = [];
  const watchers = new Set();
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (text) => {
      const parts = (rest + text).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        for (const watch of watchers) watch(line);
      }
    });
  }
  return {
    child,
    pid: child.pid,
    exited,
    lastLines: () => lines.slice(-10),
    alive: () => child.exitCode === null && child.signalCode === null,
    /** Resolve with the first line matching `pattern` (already printed or yet to come). */
    waitForLine(pattern, timeoutMs = 10_000) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(watch);
          reject(new Error(`${command}: no line matching ${pattern} within ${timeoutMs} ms`));
        }, timeoutMs);
        const watch = (line) => {
          if (!pattern.test(line)) return;
          clearTimeout(timer);
          watchers.delete(watch);
          resolve(line);
        };
        watchers.add(watch);
        void exited.then(({ code, signal, error }) => {
          if (!watchers.has(watch)) return;
          clearTimeout(timer);
          watchers.delete(watch);
          reject(
            new Error(
              `${command} exited (${error?.message ?? `code ${code}, signal ${signal}`}) before printing ${pattern}: ${lines.slice(-5).join(' | ')}`,
            ),
          );
        });
      });
    },
    /** SIGTERM (after SIGCONT), then SIGKILL after `graceMs`; resolves once it is gone. */
    async stop(graceMs = 2000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(child.pid, 'SIGCONT');
        child.kill('SIGTERM');
      } catch {
        // Already gone.
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Run a command to completion with a deadline; resolves with its stdout, stderr and exit code. */
export async function run(command, args, timeoutMs) {
  const proc = start(command, args);
  let out = '';
  let err = '';
  proc.child.stdout.on('data', (text) => {
    out += text;
  });
  proc.child.stderr.on('data', (text) => {
    err += text;
  });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const result = await proc.exited;
  clearTimeout(timer);
  return { ...result, stdout: out, stderr: err };
}

/** Start a forwarder process (`script` from `snapshotForwarder`) to `target`; resolves once it listens. */
export async function startForwarder(script, target) {
  const proc = start(process.execPath, [script, '--target', `${target.host}:${target.port}`]);
  const line = await proc.waitForLine(/^listening on 127\.0\.0\.1:(\d+)/, 15_000);
  return { ...proc, port: Number(/:(\d+)/.exec(line)[1]) };
}

// ---------------------------------------------------------------- loopback

export const sleep = (msec) => new Promise((resolve) => setTimeout(resolve, msec));

/** Resolve once something listens on 127.0.0.1:port, read from /proc so no probe connection is made. */
export async function waitListening(port, timeoutMs = 10_000) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const table = readFileSync('/proc/net/tcp', 'utf8');
    // local_address 0100007F:PORT, state 0A = LISTEN.
    if (table.split('\n').some((row) => row.includes(`0100007F:${hex} 00000000:0000 0A`))) return;
    await sleep(20);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** A free port on 127.0.0.1 (bind to 0 when the tool allows it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: HOST, port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Connect, wait for the first byte; resolves with the time it took in ms, rejects on error or timeout. */
export function connectFirstByte(port, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = net.connect({ host: HOST, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no first byte within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('data', () => {
      const elapsed = performance.now() - t0;
      clearTimeout(timer);
      socket.destroy();
      resolve(elapsed);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('closed before the first byte'));
    });
  });
}

/** The bench's own SSH-banner + echo target, as a separate process so it never shares our event loop. */
export async function startBannerProcess() {
  const code = `
    const net = require('node:net');
    const server = net.createServer({ noDelay: true }, (socket) => {
      socket.on('error', () => socket.destroy());
      socket.write('SSH-2.0-tunnelmux-bench\\r\\n');
      socket.pipe(socket);
    });
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
      console.log('listening on 127.0.0.1:' + server.address().port);
    });
    process.on('SIGTERM', () => process.exit(0));
  `;
  const proc = start(process.execPath, ['-e', code]);
  const line = await proc.waitForLine(/^listening on 127\.0\.0\.1:(\d+)/, 15_000);
  return { ...proc, host: HOST, port: Number(/:(\d+)$/.exec(line)[1]) };
}

/** Resolve with the first event the predicate accepts, or reject after `timeoutMs`. */
export function nextEvent(manager, predicate, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = manager.events.on((event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

/**
 * Resolve once every path in `ids` is connected. A path whose first open failed for a transient reason is
 * retried by the manager itself, so this waits for that rather than giving up (bounded by `timeoutMs`).
 */
export async function waitConnected(manager, ids, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const down = ids.filter((id) => manager.status(id).state !== 'connected');
    if (down.length === 0) return;
    if (Date.now() > deadline) {
      const why = down.map(
        (id) => `${id} ${manager.status(id).state}: ${manager.status(id).lastError ?? ''}`,
      );
      throw new Error(`paths not connected after ${timeoutMs} ms: ${why.join('; ')}`);
    }
    await sleep(50);
  }
}

/** HAProxy in `mode tcp` on a free loopback port, one backend at `serverPort`; the anchor for throughput figures. */
export async function startHaproxyTcp(haproxy, serverPort) {
  return (await startHaproxyTcpProcess(haproxy, serverPort)).port;
}

/** As startHaproxyTcp, with the process too (its pid, for CPU figures). */
export async function startHaproxyTcpProcess(haproxy, serverPort) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-bench-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const config = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 1000',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 60s',
      '  timeout server 60s',
      'frontend bench',
      `  bind ${HOST}:${port}`,
      '  default_backend iperf',
      'backend iperf',
      `  server s1 ${HOST}:${serverPort}`,
      '',
    ].join('\n'),
  );
  const proc = start(haproxy, ['-f', config, '-db']);
  onCleanup(() => proc.stop());
  await waitListening(port);
  return { port, pid: proc.pid };
}

/** One iperf3 client run of `seconds` through `port`; resolves with the bits per second received. */
export async function iperf3Run(iperf3, route, seconds) {
  const result = await run(
    iperf3,
    ['-c', HOST, '-p', String(route.port), '-t', String(seconds), '-J'],
    (seconds + 30) * 1000,
  );
  let report;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    throw new Error(
      `iperf3 via ${route.name}: no JSON (code ${result.code}): ${result.stderr.slice(0, 300)}`,
    );
  }
  const bps = report?.end?.sum_received?.bits_per_second;
  if (report.error || typeof bps !== 'number') {
    throw new Error(`iperf3 via ${route.name}: ${report.error ?? 'no end.sum_received'}`);
  }
  return bps;
}
