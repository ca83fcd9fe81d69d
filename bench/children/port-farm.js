// Stand-in for the local ports of N tunnels, in its own process so its work is never counted as the manager's:
// N loopback listeners, each answering like an SSH server (banner, then echo). It counts the connections it
// accepts, which is how the parent counts probes without subscribing to the manager's events (a subscriber
// would make every probe event cost something). stdin `count` -> stdout `count <n>`.
// Usage: node port-farm.js <n>; prints `ports <p1,p2,...>` once every port listens.
import net from 'node:net';
import readline from 'node:readline';

const count = Number(process.argv[2]);
if (!Number.isInteger(count) || count < 1) {
  console.error(`port-farm: expected a positive port count, got ${JSON.stringify(process.argv[2])}`);
  process.exit(2);
}
const BANNER = Buffer.from('SSH-2.0-tunnelmux-bench\r\n');
let accepted = 0;
const onConnection = (socket) => {
  accepted += 1;
  socket.on('error', () => socket.destroy());
  socket.write(BANNER);
  socket.pipe(socket);
};
const ports = [];
for (let i = 0; i < count; i += 1) {
  const server = net.createServer({ noDelay: true }, onConnection);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 128 }, resolve);
  });
  ports.push(server.address().port);
}
console.log(`ports ${ports.join(',')}`);
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'count') console.log(`count ${accepted}`);
});
process.on('SIGTERM', () => process.exit(0));
