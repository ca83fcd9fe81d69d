// The least a Node.js process adds to a connection: accept, dial the target, pipe() both ways; nothing else.
// The floor under the front door's connect-latency figure, in its own process as the door's manager is.
// Usage: node node-proxy.js <target port>; prints `port <n>`, runs until SIGTERM.
import net from 'node:net';

const target = Number(process.argv[2]);
if (!Number.isInteger(target) || target < 1) {
  console.error(`node-proxy: expected a target port, got ${JSON.stringify(process.argv[2])}`);
  process.exit(2);
}
const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: '127.0.0.1', port: target, noDelay: true });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 511 }, () =>
  console.log(`port ${server.address().port}`),
);
process.on('SIGTERM', () => process.exit(0));
