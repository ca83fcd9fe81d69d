import { appendFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Faults, readFaults, watchFaults } from '../../forwarder';
import { connect, Exit, out, parseFlags, requireRunning } from './command';
import { formatGoDuration, parseGoDuration } from './duration';
import { runServe, runServeForwarder, SERVE_FORWARDER_COMMAND } from './serve';
import {
  DEFAULT_TAILSCALE_SOCKET,
  dnsNameOf,
  type FakeTailscaleNode,
  type FakeTailscaleState,
  nodeKeyOf,
  readTailscaleState,
  TAILSCALE_CALLS_ENV,
  TAILSCALE_STATE_ENV,
} from './state';

// A fake `tailscale` CLI: the real command lines, output lines, JSON and exit codes (tunnel-clis.md §3),
// over a world read from a JSON state file. `nc` forwards real bytes to the peer's loopback address.

function nodes(state: FakeTailscaleState): FakeTailscaleNode[] {
  return [state.Self, ...state.Peers];
}

/** The MagicDNS short name, which is what `ping` prints as the node name. */
function shortName(state: FakeTailscaleState, node: FakeTailscaleNode): string {
  return dnsNameOf(node, state.MagicDNSSuffix).split('.')[0]!;
}

/** Find a node by IP, MagicDNS short name, FQDN (with or without the dot) or HostName. */
function lookup(state: FakeTailscaleState, hostOrIP: string): FakeTailscaleNode | undefined {
  const wanted = hostOrIP.toLowerCase().replace(/\.$/, '');
  return nodes(state).find(
    (node) =>
      node.TailscaleIPs.includes(hostOrIP) ||
      shortName(state, node) === wanted ||
      dnsNameOf(node, state.MagicDNSSuffix).toLowerCase().replace(/\.$/, '') === wanted ||
      node.HostName.toLowerCase() === wanted,
  );
}

function isIP(text: string): boolean {
  return net.isIP(text) !== 0;
}

function nodeJson(state: FakeTailscaleState, node: FakeTailscaleNode, self: boolean) {
  const online = self ? true : (node.Online ?? true);
  const curAddr = online ? (node.CurAddr ?? '') : '';
  return {
    ID: nodeKeyOf(node).slice(8, 20),
    PublicKey: nodeKeyOf(node),
    HostName: node.HostName,
    DNSName: dnsNameOf(node, state.MagicDNSSuffix),
    OS: node.OS ?? 'linux',
    UserID: 1234567890,
    TailscaleIPs: node.TailscaleIPs,
    AllowedIPs: node.TailscaleIPs.map((ip) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)),
    Addrs: curAddr ? [curAddr] : null,
    CurAddr: curAddr,
    Relay: node.Relay ?? 'nyc',
    PeerRelay: '',
    RxBytes: 0,
    TxBytes: 0,
    Created: '2026-01-01T00:00:00Z',
    LastWrite: '0001-01-01T00:00:00Z',
    LastSeen: online ? '0001-01-01T00:00:00Z' : (node.LastSeen ?? '2026-08-22T11:48:56Z'),
    LastHandshake: '0001-01-01T00:00:00Z',
    Online: online,
    ExitNode: false,
    ExitNodeOption: false,
    Active: false,
    InNetworkMap: true,
    InMagicSock: !self,
    InEngine: !self,
  };
}

function statusJson(state: FakeTailscaleState, showPeers: boolean) {
  const usable = state.BackendState === 'Running' || state.BackendState === 'Starting';
  const suffix = state.MagicDNSSuffix ?? 'tail1234.ts.net';
  const peers: Record<string, unknown> = {};
  if (usable && showPeers)
    for (const peer of state.Peers) peers[nodeKeyOf(peer)] = nodeJson(state, peer, false);
  return {
    Version: longVersion(state),
    TUN: state.TUN ?? true,
    BackendState: state.BackendState,
    HaveNodeKey: state.BackendState !== 'NoState',
    AuthURL: state.AuthURL ?? '',
    TailscaleIPs: usable ? state.Self.TailscaleIPs : null,
    Self: nodeJson(state, state.Self, true),
    Health: usable ? [] : null,
    MagicDNSSuffix: suffix,
    CurrentTailnet: usable
      ? { Name: 'user@example.com', MagicDNSSuffix: suffix, MagicDNSEnabled: true }
      : null,
    CertDomains: null,
    Peer: usable ? peers : null,
    User: null,
    ClientVersion: null,
  };
}

function shortVersion(state: FakeTailscaleState | undefined): string {
  return state?.version ?? '1.88.1';
}

function longVersion(state: FakeTailscaleState | undefined): string {
  return `${shortVersion(state)}-t032962f4b-gc5ad3b22f`;
}

function runVersion(socket: string, args: readonly string[]): void {
  const { flags } = parseFlags(args, { daemon: 'bool', json: 'bool', upstream: 'bool' });
  const state = readTailscaleState(process.env[TAILSCALE_STATE_ENV]);
  const short = shortVersion(state);
  if (flags.daemon === 'true') {
    // The client's long version, then the daemon's (which needs the daemon).
    const daemon = connect(socket, '/localapi/v0/status');
    out(`Client: ${longVersion(state)}\nDaemon: ${longVersion(daemon)}\n`);
    return;
  }
  if (flags.json === 'true') {
    out(
      `${JSON.stringify(
        {
          majorMinorPatch: short,
          short,
          long: longVersion(state),
          unstableBranch: false,
          gitCommit: '032962f4bc982fe8b6b58df01c33cf2904d07d67',
          extraGitCommit: 'c5ad3b22fdb5813c46501f20144c6b29b61acf54',
          cap: 125,
        },
        null,
        2,
      )}\n`,
    );
    return;
  }
  out(
    `${short}\n` +
      '  tailscale commit: 032962f4bc982fe8b6b58df01c33cf2904d07d67\n' +
      `  long version: ${longVersion(state)}\n` +
      '  other commit: c5ad3b22fdb5813c46501f20144c6b29b61acf54\n' +
      '  go version: go1.25.1\n',
  );
}

function runStatus(socket: string, args: readonly string[]): void {
  const { flags } = parseFlags(args, {
    json: 'bool',
    active: 'bool',
    peers: 'bool',
    self: 'bool',
    web: 'bool',
    browser: 'bool',
    listen: 'string',
  });
  const state = connect(socket, '/localapi/v0/status');
  const showPeers = flags.peers !== 'false';
  if (flags.json === 'true') {
    // Go's json.MarshalIndent written without a newline; exit 0 in every backend state.
    out(JSON.stringify(statusJson(state, showPeers), null, 2));
    return;
  }
  requireRunning(state);
  const rows: string[][] = [];
  const row = (node: FakeTailscaleNode, self: boolean) => {
    const online = self || (node.Online ?? true);
    let status = '-';
    if (!online) status = 'offline';
    if (flags.active === 'true' && !self && status !== '-') return;
    rows.push([node.TailscaleIPs[0] ?? '', shortName(state, node), 'user@', node.OS ?? 'linux', status]);
  };
  if (flags.self !== 'false') row(state.Self, true);
  if (showPeers) for (const peer of state.Peers) row(peer, false);
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((r) => r[column]!.length))) ?? [];
  for (const r of rows)
    out(
      `${r
        .map((cell, column) => cell.padEnd(widths[column]! + 2))
        .join('')
        .trimEnd()}\n`,
    );
}

function runIP(socket: string, args: readonly string[]): void {
  const { flags, rest } = parseFlags(args, { '1': 'bool', '4': 'bool', '6': 'bool' });
  if (rest.length > 1) throw new Exit(1, 'too many arguments, expected at most one peer');
  const v4 = flags['4'] === 'true';
  const v6 = flags['6'] === 'true';
  if (Number(v4) + Number(v6) + Number(flags['1'] === 'true') > 1) {
    throw new Exit(1, 'tailscale ip -4, -6, and -1 are mutually exclusive');
  }
  const state = connect(socket, '/localapi/v0/status');
  let node = state.Self;
  if (rest[0]) {
    const found = lookup(state, rest[0]);
    if (!found) {
      throw new Exit(
        1,
        isIP(rest[0])
          ? `no peer or service found with IP ${rest[0]}`
          : `error looking up IP of "${rest[0]}": lookup ${rest[0]}: no such host`,
      );
    }
    node = found;
  } else {
    requireRunning(state);
  }
  let ips = node.TailscaleIPs;
  if (v4) ips = ips.filter((ip) => !ip.includes(':'));
  if (v6) ips = ips.filter((ip) => ip.includes(':'));
  if (flags['1'] === 'true')
    ips = [...ips.filter((ip) => !ip.includes(':')), ...ips.filter((ip) => ip.includes(':'))].slice(0, 1);
  if (ips.length === 0) throw new Exit(1, v6 ? 'no Tailscale IPv6 address' : 'no Tailscale IPv4 address');
  for (const ip of ips) out(`${ip}\n`);
}

async function runPing(socket: string, args: readonly string[]): Promise<void> {
  const { flags, rest } = parseFlags(args, {
    c: 'string',
    timeout: 'string',
    'until-direct': 'bool',
    tsmp: 'bool',
    icmp: 'bool',
    peerapi: 'bool',
    verbose: 'bool',
    size: 'string',
  });
  if (rest.length !== 1) throw new Exit(1, 'usage: tailscale ping <hostname-or-IP>');
  const count = flags.c === undefined ? 10 : Number(flags.c);
  if (!Number.isInteger(count) || count < 0)
    throw new Exit(1, `invalid value "${flags.c}" for flag -c: parse error`);
  const timeoutMs = flags.timeout === undefined ? 5000 : parseGoDuration(flags.timeout);
  if (timeoutMs === undefined) {
    throw new Exit(1, `invalid value "${flags.timeout}" for flag -timeout: parse error`);
  }
  const untilDirect = flags['until-direct'] !== 'false';
  const hostOrIP = rest[0]!;
  let state = connect(socket, isIP(hostOrIP) ? '/localapi/v0/ping' : '/localapi/v0/status');
  requireRunning(state);
  const first = lookup(state, hostOrIP);
  if (!first && !isIP(hostOrIP)) {
    throw new Exit(1, `error looking up IP of "${hostOrIP}": lookup ${hostOrIP}: no such host`);
  }
  const ip = first?.TailscaleIPs[0] ?? hostOrIP;
  let anyPong = false;
  for (let n = 1; ; n++) {
    // Each try sees the world as it is now, so a test can take a peer offline between pings.
    state = readTailscaleState(process.env[TAILSCALE_STATE_ENV]) ?? state;
    const node = lookup(state, ip);
    if (!node || !(node.Online ?? true) || node.pingTimeout) {
      await sleep(timeoutMs);
      out(`ping "${ip}" timed out\n`);
      if (n === count) {
        if (!anyPong) throw new Exit(1, 'no reply');
        return;
      }
      continue;
    }
    const direct = node === state.Self ? '' : (node.CurAddr ?? '');
    const latency = node.pingLatencyMs ?? (direct ? 3 : 39);
    await sleep(latency);
    anyPong = true;
    const via = direct || `DERP(${node.Relay ?? 'nyc'})`;
    out(`pong from ${shortName(state, node)} (${ip}) via ${via} in ${formatGoDuration(latency)}\n`);
    if (flags.tsmp === 'true' || flags.icmp === 'true') return;
    if (direct && untilDirect) return;
    await sleep(1000);
    if (n === count) {
      if (untilDirect) throw new Exit(1, 'direct connection not established');
      return;
    }
  }
}

/** `tailscale nc HOST PORT`: stdin/stdout ↔ the peer's service; ends when either direction ends (cli/nc.go). */
async function runNC(socket: string, args: readonly string[]): Promise<void> {
  const state = connect(socket, '/localapi/v0/status');
  requireRunning(state);
  if (args.length !== 2) throw new Exit(1, 'usage: nc <hostname-or-IP> <port>');
  const [hostOrIP, portText] = args as [string, string];
  const port = /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new Exit(1, `invalid port number "${portText}"`);
  const dialError = (why: string) => new Exit(1, `Dial(${JSON.stringify(hostOrIP)}, ${port}): ${why}`);
  const node = lookup(state, hostOrIP);
  if (!node) throw dialError(`dial tcp: lookup ${hostOrIP}: no such host`);
  const ip = node.TailscaleIPs[0] ?? hostOrIP;
  if (node !== state.Self && !(node.Online ?? true)) throw dialError(`dial tcp ${ip}:${port}: i/o timeout`);

  const faultsFile = process.env.TUNNELMUX_FAKE_FAULTS;
  const faults: Faults = readFaults(faultsFile);
  if (faults.startup === 'crash') throw new Exit(1, 'unexpected EOF');
  if (faults.startup === 'hang') {
    // Never dial: the caller sees a stream that says nothing until it gives up and kills us.
    await new Promise(() => setInterval(() => undefined, 60_000));
  }
  watchFaults(faultsFile, (next) => {
    if (next.mode === 'crash') {
      process.stderr.write('read: connection reset by peer\n');
      process.exit(1);
    }
  });
  let mode = faults.mode ?? 'ok';
  if (mode === 'crash') throw new Exit(1, 'read: connection reset by peer');
  if (mode === 'flap') {
    // Flap on the wall clock: every nc is a new process, so there is no shared start time.
    const half = faults.flapMs ?? 1000;
    mode = Math.floor(Date.now() / half) % 2 === 0 ? 'ok' : 'blackhole';
  }
  if (mode === 'refuse') throw dialError(`dial tcp ${ip}:${port}: connect: connection refused`);
  if (mode === 'slow') await sleep(faults.latencyMs ?? 300);

  const local = { host: node.loopback ?? '127.0.0.1', port: node.ports?.[String(port)] ?? port };
  const conn = await new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(local);
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => reject(dialError(`dial tcp ${ip}:${port}: connect: connection refused`)));
  });
  conn.on('error', () => undefined);
  const finished = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('error', () => resolve());
    if (mode !== 'blackhole') {
      conn.once('end', resolve);
      conn.once('close', () => resolve());
    }
  });
  if (mode === 'blackhole') {
    // Dialled, then silent: what the client sends vanishes and nothing comes back.
    process.stdin.resume();
  } else {
    conn.pipe(process.stdout, { end: false });
    process.stdin.pipe(conn);
  }
  await finished;
  conn.destroy();
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
}

function logCall(argv: readonly string[]): void {
  const file = process.env[TAILSCALE_CALLS_ENV];
  if (file) appendFileSync(file, `${JSON.stringify({ pid: process.pid, argv })}\n`);
}

/** Run the fake with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] !== SERVE_FORWARDER_COMMAND) logCall(argv);
  try {
    const { flags, rest } = parseFlags(argv, { socket: 'string' });
    const socket = flags.socket ?? DEFAULT_TAILSCALE_SOCKET;
    const [command, ...args] = rest;
    switch (command) {
      case 'version':
        runVersion(socket, args);
        return 0;
      case 'status':
        runStatus(socket, args);
        return 0;
      case 'ip':
        runIP(socket, args);
        return 0;
      case 'ping':
        await runPing(socket, args);
        return 0;
      case 'nc':
        await runNC(socket, args);
        return 0;
      case 'serve':
        await runServe(socket, args);
        return 0;
      case SERVE_FORWARDER_COMMAND:
        // Fake-only: the detached listener that stands in for tailscaled's serve handler; runs until withdrawn.
        await runServeForwarder(args);
        return 0;
      case undefined:
        throw new Exit(1, 'tailscale: missing subcommand');
      default:
        throw new Exit(
          1,
          `tailscale: unknown subcommand "${command}" (the tunnelmux fake implements version, status, ip, ping, nc, serve)`,
        );
    }
  } catch (error) {
    if (error instanceof Exit) {
      if (error.stderr) process.stderr.write(`${error.stderr}\n`);
      return error.code;
    }
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
