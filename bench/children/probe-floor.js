// The least a Node.js process can spend on the same checks: a bare loop that connects to each port every
// interval, reads until the SSH banner's first 4 bytes, and resets the socket (as tunnelmux's probe does, so no
// TIME_WAIT), with a 1 s timeout. No manager, no events, no metrics: the floor that tunnelmux's figure sits on.
// Usage: node probe-floor.js --ports-file=FILE [--paths=N] [--interval=MS]; prints `ready <n>`, runs until SIGTERM.
import { readFileSync } from 'node:fs';
import net from 'node:net';

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ports = readFileSync(arg('ports-file'), 'utf8').trim().split(',').filter(Boolean).map(Number);
const interval = Number(arg('interval') ?? 2000);
const pathCount = Number(arg('paths') ?? ports.length);
const PREFIX = Buffer.from('SSH-');

function probe(port) {
  const socket = net.connect({ host: '127.0.0.1', port });
  let seen = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), 1000);
  socket.on('data', (chunk) => {
    seen = Buffer.concat([seen, chunk]);
    if (seen.length < PREFIX.length && PREFIX.subarray(0, seen.length).equals(seen)) return;
    clearTimeout(timer);
    socket.resetAndDestroy();
  });
  socket.once('error', () => clearTimeout(timer));
}

// Spread over the interval, as the manager's jittered schedule spreads its probes.
for (let i = 0; i < pathCount; i += 1) {
  const port = ports[i % ports.length];
  setTimeout(
    () => {
      probe(port);
      setInterval(() => probe(port), interval);
    },
    (i * interval) / Math.max(1, pathCount),
  );
}
console.log(`ready ${pathCount}`);
process.on('SIGTERM', () => process.exit(0));
