// One manager in its own process, so the parent can read its CPU and RSS from /proc exactly as it reads
// HAProxy's: nothing else runs here. Each path's `open` takes the next port of a port farm (a separate process)
// and dials it, as a tunnel's local port would be dialled.
// Usage: node manager.js --ports-file=FILE [--paths=N] [--interval=MS] [--listen] [--subscribe] [--cpu-prof-steady=FILE]
//   --listen     also open a front door (protocol ssh) and print its port
//   --subscribe  attach one event listener, as `tunnelmux up` does, to measure the cost of a listener
// Prints `ready <connected>/<paths>` (and `door <port>`), then runs until SIGTERM.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadBuilt, noOptions } from '../lib.js';

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ports = readFileSync(arg('ports-file'), 'utf8').trim().split(',').filter(Boolean).map(Number);
const interval = Number(arg('interval') ?? 2000);
const pathCount = Number(arg('paths') ?? ports.length);
const BATCH = 100;

const { core } = await loadBuilt();
const provider = core.defineProvider({
  apiVersion: 1,
  name: 'bench-port',
  summary: 'benchmark stand-in: each path is one port of the port farm',
  access: {
    options: noOptions,
    async open(_options, ctx) {
      const port = ports[Number(ctx.pathId.slice('path-'.length)) % ports.length];
      let close;
      const done = new Promise((resolve) => {
        close = () => resolve({ reason: 'closed' });
      });
      return {
        endpoint: `127.0.0.1:${port}`,
        done,
        dial: (signal) => ctx.dialTcp({ host: '127.0.0.1', port }, { signal, timeoutMs: 5000 }),
        // As a tool's local listener is declared (the ssh and cloudflare providers do).
        connectTo: { host: '127.0.0.1', port },
        async close() {
          close();
        },
      };
    },
  },
});

const manager = core.createManager({
  target: { host: '127.0.0.1', port: ports[0] },
  protocol: 'ssh',
  failover: { interval, timeout: 1000, maxLatency: 1000, fall: 3, rise: 2 },
  providers: [provider],
  metricsInterval: 5000,
});
if (process.argv.includes('--subscribe')) {
  // One listener that does next to nothing, as `tunnelmux up` keeps its recent-events ring.
  const recent = [];
  manager.events.on((event) => {
    recent.push(event);
    if (recent.length > 200) recent.shift();
  });
}
// Started in batches, as a config of this size would be: a thousand first probes at one instant only measure
// the start-up storm, not the steady state.
for (let i = 0; i < pathCount; i += BATCH) {
  const specs = Array.from({ length: Math.min(BATCH, pathCount - i) }, (_, k) => ({
    id: `path-${i + k}`,
    provider: 'bench-port',
  }));
  await manager.startMultiple(specs);
}
const connected = manager.list().filter((path) => path.state === 'connected').length;
if (process.argv.includes('--listen')) {
  const door = await manager.listen({ host: '127.0.0.1', port: 0 });
  console.log(`door ${door.address.port}`);
}
console.log(`ready ${connected}/${pathCount}`);
// stdin `memory` -> stdout `memory <json>`: where the RSS goes (after a full GC when run with --expose-gc).
import('node:readline').then(({ default: readline }) =>
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'memory') return;
    globalThis.gc?.();
    console.log(
      `memory ${JSON.stringify({ ...process.memoryUsage(), ...(globalThis.gc ? { gc: true } : {}) })}`,
    );
  }),
);
// `--cpu-prof-steady=FILE`: profile the steady state only (after start-up), written when the process stops.
const profileFile = arg('cpu-prof-steady');
let profiler;
if (profileFile) {
  const { Session } = await import('node:inspector/promises');
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
// Stay up until told to stop, even with 0 paths (nothing else would keep the loop alive).
const keepAlive = setInterval(() => undefined, 1 << 30);
// lib.js's handler would exit before the profile is written and the manager shut down.
process.removeAllListeners('SIGTERM');
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  void (async () => {
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(profile));
    }
    await manager.shutdown();
    process.exit(0);
  })();
});
