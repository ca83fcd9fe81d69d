// Issue 3: bulk throughput of the front door against one-hop proxies, all on loopback, in the same run:
// iperf3 direct, through the tunnelmux front door (one in-process path, protocol tcp, whose dial goes straight
// to the iperf3 server), through a bare Node pipe() (the baseline for what Node itself costs), through HAProxy
// (mode tcp, one backend: the anchor) and through socat. Goal: front door >= 0.97x the bare pipe and >= 0.9x
// HAProxy, in the same run. iperf3's control connection and its data connection both go through the proxy under test.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import {
  directProvider,
  freePort,
  iperf3Run,
  loadBuilt,
  main,
  onCleanup,
  QUICK,
  ratio,
  reporter,
  start,
  startHaproxyTcpProcess,
  summarize,
  waitListening,
  which,
} from './lib.js';

const NAME = 'throughput';
const SECONDS = QUICK ? 2 : 4;
// Loopback throughput swings with the machine's load: more, shorter rounds give a steadier median.
const ROUNDS = QUICK ? 1 : 5;

// CPU per byte moved holds up on a busy machine far better than Gbit/s, which swing with others' load: the
// front door and the pipe run in this process (process.cpuUsage), HAProxy in its own (/proc/<pid>/stat).
const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const procCpuMs = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime + stime in clock ticks; USER_HZ is 100 on Linux.
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

const gbit = (bps) => `${(bps / 1e9).toFixed(2)} Gbit/s`;

await main(NAME, 8 * 60_000, async () => {
  const out = reporter(NAME);
  out.title(`iperf3 -t ${SECONDS}, ${ROUNDS} round(s) per route, interleaved; median per route`);
  const iperf3 = which('iperf3');
  if (!iperf3) {
    out.skipped('iperf3', 'iperf3');
    return;
  }
  const haproxy = which('haproxy');
  const socat = which('socat');
  const { core } = await loadBuilt();

  // One long-lived server (not `-1`): the front door's path probes also connect to it, and a one-off server
  // would take a probe for its one test and exit.
  const serverPort = await freePort();
  const server = start(iperf3, ['-s', '-B', '127.0.0.1', '-p', String(serverPort)]);
  onCleanup(() => server.stop());
  await waitListening(serverPort);

  const routes = [{ name: 'direct', port: serverPort }];

  // The front door: one in-process path to the iperf3 server. Probes are rare and forgiving, because the
  // iperf3 server turns away any connection made while a test runs, and a probe is such a connection.
  const manager = core.createManager({
    target: { host: '127.0.0.1', port: serverPort },
    protocol: 'tcp',
    failover: { interval: 60_000, fall: 100, timeout: 2000, maxLatency: 2000 },
    providers: [directProvider(core)],
    metricsInterval: 0,
  });
  onCleanup(() => manager.shutdown());
  const [started] = await manager.startMultiple([{ id: 'direct', provider: 'bench-direct' }]);
  if (!started.ok) throw new Error(`the path did not start: ${started.error.message}`);
  const door = await manager.listen({ host: '127.0.0.1', port: 0 });
  routes.push({ name: 'front door', port: door.address.port, cpuMs: ownCpuMs });

  // A reference: the plainest Node.js proxy (accept, connect, pipe both ways) in this same process, so the
  // gap to HAProxy splits into what Node costs and what the front door adds on top.
  {
    const sockets = new Set();
    const plain = net.createServer({ noDelay: true }, (client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: serverPort, noDelay: true });
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise((resolve) => plain.listen({ host: '127.0.0.1', port: 0 }, resolve));
    onCleanup(() => {
      for (const socket of sockets) socket.destroy();
      plain.close();
    });
    routes.push({ name: 'node pipe (reference)', port: plain.address().port, cpuMs: ownCpuMs });
  }

  if (haproxy) {
    const { port, pid } = await startHaproxyTcpProcess(haproxy, serverPort);
    routes.push({ name: 'haproxy', port, cpuMs: () => procCpuMs(pid) });
  } else {
    out.skipped('haproxy', 'haproxy');
  }
  if (socat) {
    const port = await freePort();
    const proc = start(socat, [
      `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`,
      `TCP:127.0.0.1:${serverPort}`,
    ]);
    onCleanup(() => proc.stop());
    await waitListening(port);
    routes.push({ name: 'socat', port });
  } else {
    out.skipped('socat', 'socat');
  }

  /** One iperf3 client run; resolves with bits per second received. */
  async function measure(route) {
    if (!server.alive()) throw new Error(`the iperf3 server died: ${server.lastLines().join(' | ')}`);
    return iperf3Run(iperf3, route, SECONDS);
  }

  const samples = new Map(routes.map((route) => [route.name, []]));
  const cpuPerGb = new Map(routes.map((route) => [route.name, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const route of routes) {
      const cpu0 = route.cpuMs?.();
      const bps = await measure(route);
      samples.get(route.name).push(bps);
      if (route.cpuMs) cpuPerGb.get(route.name).push((route.cpuMs() - cpu0) / ((bps * SECONDS) / 8 / 1e9));
    }
  }
  const median = new Map([...samples].map(([name, values]) => [name, summarize(values).median]));
  const direct = median.get('direct');
  const viaHaproxy = median.get('haproxy');
  for (const route of routes) {
    const value = median.get(route.name);
    const values = samples.get(route.name);
    const parts = [gbit(value)];
    if (route.name !== 'direct') parts.push(`${ratio(value, direct)} of direct`);
    if (viaHaproxy && route.name !== 'haproxy' && route.name !== 'direct') {
      parts.push(`${ratio(value, viaHaproxy)} of haproxy`);
    }
    if (route.name === 'front door' && median.has('node pipe (reference)')) {
      parts.push(`${ratio(value, median.get('node pipe (reference)'))} of node pipe`);
    }
    if (values.length > 1) parts.push(`rounds ${values.map((v) => (v / 1e9).toFixed(2)).join(' / ')}`);
    out.figure(route.name, parts.join(', '));
  }
  const cpu = new Map([...cpuPerGb].map(([name, values]) => [name, summarize(values).median]));
  const cpuOf = (name) => (cpu.has(name) ? `${cpu.get(name).toFixed(0)} ms` : 'n/a');
  out.figure(
    'CPU per GB moved (median)',
    `front door ${cpuOf('front door')}, node pipe ${cpuOf('node pipe (reference)')}, haproxy ${cpuOf('haproxy')}; front door ${ratio(cpu.get('front door'), cpu.get('node pipe (reference)'))} of the pipe's, ${ratio(cpu.get('front door'), cpu.get('haproxy'))} of haproxy's`,
  );
  const viaDoor = median.get('front door');
  const pipe = median.get('node pipe (reference)');
  out.note(
    `goal: front door >= 0.97x the bare node pipe (measured ${ratio(viaDoor, pipe)}) and >= 0.9x haproxy (measured ${viaHaproxy ? ratio(viaDoor, viaHaproxy) : 'n/a: no haproxy'})`,
  );
  const status = manager.status('direct');
  out.note(
    `front door carried ${status.totalConnections} connections, ${(status.bytesOut / 1e9).toFixed(1)} GB client->target`,
  );
  await door.close();
});
