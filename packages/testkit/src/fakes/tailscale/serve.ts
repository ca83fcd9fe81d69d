import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Faults, readFaults, watchFaults } from '../../forwarder/faults';
import { Forwarder } from '../../forwarder/forwarder';
import { connect, Exit, out, parseFlags, requireRunning } from './command';
import {
  dnsNameOf,
  type FakeServeConfig,
  type FakeTailscaleState,
  type FakeTCPPortHandler,
  readTailscaleState,
  TAILSCALE_STATE_ENV,
  writeTailscaleState,
} from './state';

// `tailscale serve` (cli/serve_v2.go, ipn/serve.go): TCP handlers only, kept in the state file's `serve`. The fake
// has no daemon, so a TCP handler is served by a small detached forwarder process (SERVE_FORWARDER_COMMAND) that
// listens on Self's loopback tailnet IP at the serve port and forwards to the handler's TCPForward address.

/** The hidden subcommand that runs one serve forwarder. */
export const SERVE_FORWARDER_COMMAND = '__tunnelmux-serve-forwarder';

const HELP = 'try `tailscale serve --help` for usage info';
const FLAGS = {
  bg: 'bool',
  'set-path': 'string',
  https: 'string',
  http: 'string',
  tcp: 'string',
  'tls-terminated-tcp': 'string',
  service: 'string',
  yes: 'bool',
  tun: 'bool',
} as const;

function stateFile(): string | undefined {
  return process.env[TAILSCALE_STATE_ENV];
}

/** Write the state back (the fake's SetServeConfig); `connect` already proved the file exists. */
function save(state: FakeTailscaleState): void {
  writeTailscaleState(stateFile()!, state);
}

/** `tailscale serve …`: status [--json], reset, --bg --tcp=N <target>, --tcp=N off. */
export async function runServe(socket: string, args: readonly string[]): Promise<void> {
  const { flags, rest } = parseFlags(args, FLAGS);
  if (rest[0] === 'status') return runServeStatus(socket, rest.slice(1));
  if (rest[0] === 'reset') return runServeReset(socket, rest.slice(1));
  if (rest.length === 0) throw new Exit(1, `usage: tailscale serve <target>\n${HELP}`);
  if (rest.length > 2) {
    process.stderr.write(`Error: invalid number of arguments (${rest.length})\n`);
    throw new Exit(1, HELP);
  }
  const turnOff = rest[rest.length - 1] === 'off';
  if (rest.length === 2 && !turnOff) {
    process.stderr.write('Error: invalid argument format\n');
    throw new Exit(1, HELP);
  }
  if (flags.tcp === undefined) {
    throw new Exit(1, 'the tunnelmux fake tailscale implements only TCP handlers: pass --tcp=PORT');
  }
  const port = /^\d+$/.test(flags.tcp) ? Number(flags.tcp) : Number.NaN;
  if (!Number.isInteger(port)) throw new Exit(1, `invalid value "${flags.tcp}" for flag -tcp: parse error`);
  if (port > 65535) {
    process.stderr.write(`error: port number ${port} is too high for tcp flag\n\n`);
    throw new Exit(1, HELP);
  }
  const state = connect(socket, '/localapi/v0/serve-config');
  if (turnOff) return serveOff(state, port);
  return serveOn(state, port, rest[0]!, flags.bg === 'true');
}

/** What kind of handler a port has (serveFromPortHandler). */
function kindOf(handler: FakeTCPPortHandler): string {
  if (handler.HTTP) return 'http';
  if (handler.HTTPS) return 'https';
  if (handler.TerminateTLS) return 'tls-terminated-tcp';
  if (handler.TCPForward) return 'tcp';
  return 'unknownServeType';
}

/** ipn.ExpandProxyTargetValue for TCP: `22`, `localhost:22`, `tcp://127.0.0.1:22` → the TCPForward host:port. */
function expandTarget(target: string): string {
  const fail = (why: string) => {
    process.stderr.write(`error: failed to apply TCP serve: unable to expand target: ${why}\n\n`);
    return new Exit(1, HELP);
  };
  if (/^\d+$/.test(target) && Number(target) <= 65535) return `127.0.0.1:${Number(target)}`;
  const withScheme = target.includes('://') ? target : `tcp://${target}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw fail(`invalid URL parse "${withScheme}": invalid URI for request`);
  }
  if (url.protocol !== 'tcp:') throw fail('must be a URL starting with one of the supported schemes: [tcp]');
  if (url.hostname !== 'localhost' && url.hostname !== '127.0.0.1') {
    throw fail('only localhost or 127.0.0.1 proxies are currently supported');
  }
  const port = Number(url.port);
  if (!url.port || !(port > 0 && port <= 65535)) throw fail(`invalid port "${url.port}"`);
  return `${url.hostname}:${port}`;
}

async function serveOn(state: FakeTailscaleState, port: number, target: string, bg: boolean): Promise<void> {
  requireRunning(state);
  const serve: FakeServeConfig = state.serve ?? {};
  const key = String(port);
  // validateConfig: a foreground session on the port, or a background one without --bg, or another kind.
  if (Object.values(serve.Foreground ?? {}).some((fg) => fg.TCP?.[key])) {
    throw new Exit(1, 'foreground already exists under this port');
  }
  const existing = serve.TCP?.[key];
  if (existing) {
    if (!bg) {
      throw new Exit(
        1,
        `background configuration already exists, use \`tailscale serve --tcp=${port} off\` to remove the existing configuration`,
      );
    }
    if (kindOf(existing) !== 'tcp') {
      throw new Exit(
        1,
        `want to serve "tcp" but port is already serving "${kindOf(existing)}" for "machine"`,
      );
    }
    // Like the real CLI, --bg replaces an existing TCP forward on the same port without asking.
  }
  const forward = expandTarget(target);
  if (!bg) throw new Exit(1, 'the tunnelmux fake tailscale implements only background serve: pass --bg');
  if (readFaults(process.env.TUNNELMUX_FAKE_FAULTS).startup === 'hang') {
    // tailscaled never answers the serve-config request: the caller must give up and kill us.
    await new Promise(() => setInterval(() => undefined, 60_000));
  }
  await stopForwarder(state.serveForwarders?.[key]?.pid);
  const listenHost = loopbackTailnetIP(state);
  let forwarder: { pid: number; host: string; port: number } | undefined;
  if (listenHost) forwarder = await startForwarder(port, listenHost, forward);
  // Re-read: the world may have changed while the forwarder started.
  const fresh = readTailscaleState(stateFile()) ?? state;
  fresh.serve = {
    ...fresh.serve,
    TCP: { ...fresh.serve?.TCP, [key]: { TCPForward: forward } },
  };
  const forwarders = { ...fresh.serveForwarders };
  if (forwarder) forwarders[key] = forwarder;
  else delete forwarders[key];
  fresh.serveForwarders = forwarders;
  save(fresh);
  const dnsName = dnsNameOf(state.Self, state.MagicDNSSuffix).replace(/\.$/, '');
  const lines = [
    'Available within your tailnet:',
    '',
    `|-- tcp://${dnsName}:${port} (TLS over TCP)`,
    ...state.Self.TailscaleIPs.map((ip) => `|-- tcp://${joinHostPort(ip, port)}`),
    `|--> tcp://${forward}`,
    '',
    'Serve started and running in the background.',
    `To disable the proxy, run: tailscale serve --tcp=${port} off`,
  ];
  out(`${lines.join('\n')}\n`);
}

async function serveOff(state: FakeTailscaleState, port: number): Promise<void> {
  const key = String(port);
  const handler = state.serve?.TCP?.[key];
  if (!handler) {
    process.stderr.write('error: failed to remove TCP serve: serve config does not exist\n\n');
    throw new Exit(1, HELP);
  }
  if (handler.HTTP || handler.HTTPS) {
    process.stderr.write(
      `error: failed to remove TCP serve: unable to remove; serving web, not TCP forwarding on serve port ${port}\n\n`,
    );
    throw new Exit(1, HELP);
  }
  // RemoveTCPForwarding: the TCP map goes away with its last port (Go's omitempty).
  const serve: FakeServeConfig = { ...state.serve };
  const tcp = { ...serve.TCP };
  delete tcp[key];
  if (Object.keys(tcp).length > 0) serve.TCP = tcp;
  else delete serve.TCP;
  state.serve = serve;
  const pid = state.serveForwarders?.[key]?.pid;
  if (state.serveForwarders) delete state.serveForwarders[key];
  // Withdrawn means withdrawn: once the state says so (and `off` returns), the public port refuses.
  await stopForwarder(pid);
  save(state);
}

function runServeReset(socket: string, args: readonly string[]): Promise<void> {
  parseFlags(args, {});
  if (args.length > 0) throw new Exit(1, 'usage: tailscale serve reset');
  const state = connect(socket, '/localapi/v0/serve-config');
  const pids = Object.values(state.serveForwarders ?? {}).map((f) => f.pid);
  state.serve = {};
  state.serveForwarders = {};
  return Promise.all(pids.map(stopForwarder)).then(() => save(state));
}

function runServeStatus(socket: string, args: readonly string[]): void {
  const { flags, rest } = parseFlags(args, { json: 'bool' });
  if (rest.length > 0) throw new Exit(1, 'usage: tailscale serve status [--json]');
  const state = connect(socket, '/localapi/v0/serve-config');
  const serve = state.serve ?? null;
  if (flags.json === 'true') {
    // json.MarshalIndent of *ipn.ServeConfig plus a newline: `null` when never set, `{}` after a reset.
    out(`${JSON.stringify(serve, null, 2)}\n`);
    return;
  }
  const tcp = Object.entries(serve?.TCP ?? {});
  if (!serve || (tcp.length === 0 && !serve.Web && !serve.AllowFunnel)) {
    out('No serve config\n');
    return;
  }
  const dnsName = dnsNameOf(state.Self, state.MagicDNSSuffix).replace(/\.$/, '');
  const lines: string[] = [];
  for (const [port, handler] of tcp) {
    if (!handler.TCPForward) continue;
    const hostPort = `${dnsName}:${port}`;
    const tls = handler.TerminateTLS ? 'TLS terminated' : 'TLS over TCP';
    const funnel = serve.AllowFunnel?.[hostPort] ? 'Funnel on' : 'tailnet only';
    lines.push(`|-- tcp://${hostPort} (${tls}, ${funnel})`);
    for (const ip of state.Self.TailscaleIPs) lines.push(`|-- tcp://${joinHostPort(ip, Number(port))}`);
    lines.push(`|--> tcp://${handler.TCPForward}`);
  }
  if (lines.length > 0) out(`${lines.join('\n')}\n\n`);
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Self's tailnet IP when it is a loopback address (tests only ever bind 127.x); otherwise no listener at all. */
function loopbackTailnetIP(state: FakeTailscaleState): string | undefined {
  return state.Self.TailscaleIPs.find((ip) => net.isIPv4(ip) && ip.startsWith('127.'));
}

/** Start the detached forwarder and wait (bounded) until it listens; its pid goes into the state file. */
async function startForwarder(
  port: number,
  host: string,
  forward: string,
): Promise<{ pid: number; host: string; port: number }> {
  const child = spawn(
    process.execPath,
    [process.argv[1]!, SERVE_FORWARDER_COMMAND, String(port), host, forward],
    // Detached, and holding none of our caller's pipes: like tailscaled, it outlives this CLI call.
    { detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: process.env },
  );
  const line = await new Promise<string>((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(`error: the serve forwarder did not start within 10 s`), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.split('\n')[0]!);
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(`error: ${error.message}`);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(text.split('\n')[0] || `error: the serve forwarder exited with ${code}`);
    });
  });
  child.stdout!.destroy();
  child.unref();
  if (!line.startsWith('listening ')) {
    if (child.pid) await stopForwarder(child.pid);
    throw new Exit(
      1,
      `tunnelmux fake: cannot serve tcp port ${port} on ${host}: ${line.replace(/^error: /, '')}`,
    );
  }
  return { pid: child.pid!, host, port };
}

/** True when `pid` runs a serve forwarder (guards against a recycled pid); true where /proc is missing. */
function isForwarder(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(SERVE_FORWARDER_COMMAND);
  } catch {
    return process.platform !== 'linux';
  }
}

/** True while `pid` runs; a zombie waiting for a slow init to reap it counts as gone. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S …"; comm may hold spaces or parentheses, so read after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') return true;
    // A zombie leader may still have threads that hold its sockets open: gone once its fd table is.
    return readdirSync(`/proc/${pid}/fd`).length > 0;
  } catch {
    return process.platform !== 'linux';
  }
}

/** SIGTERM a forwarder and wait (bounded) until it is gone; SIGKILL if it lingers. */
async function stopForwarder(pid: number | undefined): Promise<void> {
  if (!pid || !isForwarder(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let waited = 0; waited < 3000 && alive(pid); waited += 20) await sleep(20);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Test cleanup: stop every serve forwarder a state file records (and forget them). Returns the pids that were
 * still running, so a test can also assert that none outlived it.
 */
export async function stopServeForwarders(file: string): Promise<number[]> {
  const state = readTailscaleState(file);
  const pids = Object.values(state?.serveForwarders ?? {})
    .map((f) => f.pid)
    .filter((pid) => alive(pid) && isForwarder(pid));
  await Promise.all(pids.map(stopForwarder));
  return pids;
}

/** The forwarder process: listen on host:<serve port>, forward to TCPForward, follow faults and the state file. */
export async function runServeForwarder(args: readonly string[]): Promise<void> {
  const [portText, host, forward] = args;
  const match = /^(.+):(\d+)$/.exec(forward ?? '');
  if (!portText || !host || !match) {
    out('error: usage: __tunnelmux-serve-forwarder PORT HOST TCPFORWARD\n');
    throw new Exit(2);
  }
  const key = portText;
  let faults: Faults = {};
  let running = true;
  const forwarder = new Forwarder({
    listen: { host, port: Number(portText) },
    target: { host: match[1]!, port: Number(match[2]) },
  });
  try {
    await forwarder.start();
  } catch (error) {
    out(`error: ${(error as Error).message}\n`);
    throw new Exit(1);
  }
  // A stopped backend or a gone daemon refuses connections, whatever the fault plan says.
  const apply = () => forwarder.setFaults(running ? faults : { mode: 'refuse' });
  watchFaults(process.env.TUNNELMUX_FAKE_FAULTS, (next) => {
    faults = next;
    apply();
  });
  const quit = () => {
    void forwarder.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.once('SIGTERM', quit);
  process.once('SIGINT', quit);
  // Exit once the handler is withdrawn or handed to another forwarder, or the state file is gone (test cleanup);
  // a forwarder never registered within 10 s (its `serve` call died) exits too.
  const started = Date.now();
  let registered = false;
  setInterval(() => {
    const state = readTailscaleState(stateFile());
    if (!state) return quit();
    const mine = state.serveForwarders?.[key]?.pid === process.pid;
    registered ||= mine;
    if (registered && (!mine || !state.serve?.TCP?.[key]?.TCPForward)) return quit();
    if (!registered && Date.now() - started > 10_000) return quit();
    const nowRunning = state.BackendState === 'Running' && state.daemon?.running !== false;
    if (nowRunning !== running) {
      running = nowRunning;
      apply();
    }
  }, 100);
  out(`listening ${host}:${portText}\n`);
  await new Promise(() => undefined);
}
