import { appendFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { type Faults, readFaults, watchFaults } from '../../forwarder/faults';
import { Forwarder } from '../../forwarder/forwarder';
import { accountCode, FAKE_NGROK_ACCOUNTS_VAR } from './accounts';
import {
  authError,
  errorBlock,
  type Fields,
  formatRecord,
  type LogFormat,
  shortId,
  urlOnlineError,
} from './records';

/** The version the fake reports, matching captured `ngrok version` output. */
export const FAKE_NGROK_VERSION = '3.39.2';

/**
 * A malformed token the fake rejects with ERR_NGROK_105, as the real service does; so is any token that is not
 * of the real shape (`bad_<canary>` too). Well-formed tokens must be registered (see `fakeNgrokAccounts`).
 */
export const FAKE_NGROK_BAD_TOKEN = 'bad';

interface TcpCommand {
  addr: { host: string; port: number };
  log: 'false' | 'stdout' | 'stderr' | string;
  format: LogFormat;
  authtoken?: string;
  url?: string;
  configs: string[];
  metadata?: string;
}

class UsageError extends Error {}

const VALUE_FLAGS = new Set([
  'log',
  'log-format',
  'log-level',
  'authtoken',
  'url',
  'config',
  'region',
  'remote-addr',
  'metadata',
  'proxy-proto',
  'traffic-policy-file',
  'binding',
]);

/** Cobra-style parsing: `--flag value` or `--flag=value`, anywhere on the line; v3 takes only long flags. */
function parseFlags(args: readonly string[]): { flags: Map<string, string[]>; positional: string[] } {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unknown shorthand flag: '${arg.slice(1, 2)}' in ${arg}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown flag: --${name}`);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: --${name}`);
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, positional };
}

function parseTcp(args: readonly string[]): TcpCommand {
  const { flags, positional } = parseFlags(args);
  if (positional.length !== 1) throw new UsageError(`accepts 1 arg(s), received ${positional.length}`);
  const spec = positional[0]!;
  const match = /^(?:(.+):)?(\d{1,5})$/.exec(spec);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || !(port >= 1 && port <= 65535)) throw new UsageError(`invalid address: ${spec}`);
  const format = flags.get('log-format')?.at(-1) ?? 'term';
  if (!['json', 'logfmt', 'term'].includes(format)) throw new UsageError(`invalid log format: ${format}`);
  return {
    addr: { host: match[1] && match[1] !== 'localhost' ? match[1] : '127.0.0.1', port },
    log: flags.get('log')?.at(-1) ?? 'false',
    // `term` is logfmt when stdout is not a terminal, which it never is for the fake.
    format: format === 'json' ? 'json' : 'logfmt',
    authtoken: flags.get('authtoken')?.at(-1),
    url: flags.get('url')?.at(-1),
    configs: flags.get('config') ?? [],
    metadata: flags.get('metadata')?.at(-1),
  };
}

/** The few config keys the fake understands: `authtoken` (top level or under `agent:`) and `web_addr`. */
function readConfigs(files: readonly string[]): { authtoken?: string; webAddr?: string } {
  const out: { authtoken?: string; webAddr?: string } = {};
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const line of text.split('\n')) {
      const match = /^\s*(authtoken|web_addr)\s*:\s*["']?([^"'\s#]*)["']?/.exec(line);
      if (!match) continue;
      if (match[1] === 'authtoken') out.authtoken = match[2];
      else out.webAddr = match[2];
    }
  }
  return out;
}

/** A public address from `--url`: `tcp://127.0.0.1:PORT`, `127.0.0.1:PORT` or a bare port. */
function publicPort(url: string | undefined): number {
  if (!url) return 0;
  const match = /(?:^|:)(\d{1,5})$/.exec(url);
  if (!match) throw new UsageError(`invalid url: ${url}`);
  return Number(match[1]);
}

/** Run the fake agent with `ngrok`'s argv; resolves with the exit code. */
export async function runFakeNgrok(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'version' || command === '--version') {
    process.stdout.write(`ngrok version ${FAKE_NGROK_VERSION}\n`);
    return 0;
  }
  if (command !== 'tcp') {
    process.stderr.write(
      command === undefined
        ? 'NAME:\n  ngrok - tunnel local ports to public URLs and inspect traffic\n'
        : `ERROR:  unknown command "${command}" for "ngrok"\n`,
    );
    return 1;
  }
  let tcp: TcpCommand;
  let config: ReturnType<typeof readConfigs>;
  let port: number;
  try {
    tcp = parseTcp(rest);
    config = readConfigs(tcp.configs);
    port = publicPort(tcp.url);
  } catch (error) {
    process.stderr.write(`ERROR:  ${(error as Error).message}\n`);
    return 1;
  }
  return runTcp(tcp, config, port, env);
}

async function runTcp(
  tcp: TcpCommand,
  config: ReturnType<typeof readConfigs>,
  port: number,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  // Like the real agent, a SIGTERM at any moment ends it cleanly: listen before printing anything, so a parent
  // that stops the agent right after a record does not kill it unhandled.
  const signalled = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  const waitForSignal = (cleanup: () => Promise<unknown>): Promise<number> =>
    signalled.then(() =>
      cleanup().then(
        () => 0,
        () => 0,
      ),
    );
  const faultsFile = env.TUNNELMUX_FAKE_FAULTS;
  const startFaults = readFaults(faultsFile);
  if (startFaults.startup === 'crash') return 1;

  const log = (lvl: string, msg: string, fields: Fields) => {
    if (tcp.log === 'false') return;
    const line = `${formatRecord(tcp.format, lvl, msg, fields)}\n`;
    if (tcp.log === 'stdout') process.stdout.write(line);
    else if (tcp.log === 'stderr') process.stderr.write(line);
    else appendFileSync(tcp.log, line);
  };

  const tunnel = {
    publicUrl: '',
    conns: 0,
    gauge: 0,
  };
  const web = await startWebService(config.webAddr, () => tunnel, tcp);
  if (web) log('info', 'starting web service', { obj: 'web', addr: web.addr });

  if (startFaults.startup === 'hang') {
    // Like an agent that cannot reach ngrok: it retries forever and never starts the tunnel.
    const retry = () =>
      log('eror', 'failed to reconnect session', {
        obj: 'csess',
        id: shortId(),
        err: 'failed to dial ngrok server with address "connect.ngrok-agent.com:443": dial tcp: lookup connect.ngrok-agent.com: i/o timeout',
      });
    retry();
    setInterval(retry, 2000);
    return waitForSignal(async () => web?.close());
  }

  const token = tcp.authtoken ?? config.authtoken ?? env.NGROK_AUTHTOKEN;
  const code =
    accountCode(token, env[FAKE_NGROK_ACCOUNTS_VAR]) ?? (startFaults.startup === 'auth' ? 107 : undefined);
  // How the agent ends on a rejection: records on the log stream, the ERROR: block on stderr, exit 1.
  const rejected = (err: string) => {
    const session = shortId();
    log('eror', 'failed to reconnect session', { obj: 'csess', id: session, err });
    log('eror', 'session closing', { obj: 'tunnels.session', err });
    log('eror', 'terminating with error', { obj: 'app', err });
    log('crit', 'command failed', { err });
    process.stderr.write(`${errorBlock(err).join('\n')}\n`);
  };
  if (code) {
    rejected(authError(code, token ?? ''));
    await web?.close();
    return 1;
  }
  log('info', 'client session established', { obj: 'csess', id: shortId() });

  const forwarder = new Forwarder({
    listen: { host: '127.0.0.1', port },
    target: tcp.addr,
    faults: startFaults,
    onConnection: (client: net.Socket) => {
      tunnel.conns += 1;
      tunnel.gauge += 1;
      client.once('close', () => {
        tunnel.gauge -= 1;
      });
      log('info', 'join connections', {
        obj: 'join',
        id: shortId(),
        l: `${tcp.addr.host}:${tcp.addr.port}`,
        r: `${client.remoteAddress}:${client.remotePort}`,
      });
    },
    onUpstreamError: (error) =>
      log('warn', 'failed to open private leg', {
        obj: 'tunnels.session',
        id: shortId(),
        privaddr: `localhost:${tcp.addr.port}`,
        err: error.message,
      }),
  });
  let bound: { host: string; port: number };
  try {
    bound = await forwarder.start();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && tcp.url) {
      // The reserved address is held by another agent session.
      rejected(urlOnlineError(tcp.url));
      await web?.close();
      return 1;
    }
    const err = `failed to start tunnel: ${(error as Error).message}`;
    log('crit', 'command failed', { err });
    process.stderr.write(`${errorBlock(err).join('\n')}\n`);
    await web?.close();
    return 1;
  }
  tunnel.publicUrl = `tcp://127.0.0.1:${bound.port}`;
  log('info', 'started tunnel', {
    obj: 'tunnels',
    name: 'command_line',
    addr: `//localhost:${tcp.addr.port}`,
    url: tunnel.publicUrl,
  });
  let revoked = false;
  const stopWatching = watchFaults(faultsFile, (faults: Faults) => {
    if (faults.startup === 'auth' && !revoked) {
      // `auth` while running: the credential was revoked; the server closes the session, the reconnect is
      // rejected, and the agent exits.
      revoked = true;
      rejected(authError(107, token ?? ''));
      void forwarder.close().finally(() => process.exit(1));
      return;
    }
    forwarder.setFaults(faults);
  });
  return waitForSignal(async () => {
    stopWatching();
    await forwarder.close();
    await web?.close();
  });
}

interface TunnelView {
  publicUrl: string;
  conns: number;
  gauge: number;
}

/** The agent API on `web_addr` (default 127.0.0.1:4040, the next free port when busy; `false` disables). */
async function startWebService(
  webAddr: string | undefined,
  view: () => TunnelView,
  tcp: TcpCommand,
): Promise<{ addr: string; close(): Promise<void> } | undefined> {
  if (webAddr === 'false') return undefined;
  const tunnelJson = () => {
    const t = view();
    const zero = { count: 0, rate1: 0, rate5: 0, rate15: 0, p50: 0, p90: 0, p95: 0, p99: 0 };
    return {
      name: 'command_line',
      ID: shortId(),
      uri: '/api/tunnels/command_line',
      public_url: t.publicUrl,
      proto: 'tcp',
      config: { addr: `localhost:${tcp.addr.port}`, inspect: false },
      metrics: { conns: { ...zero, count: t.conns, gauge: t.gauge }, http: zero },
    };
  };
  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]', ''].includes(host)) {
      send(403, { error_code: 100, status_code: 403, msg: 'Forbidden', details: { err: 'invalid host' } });
      return;
    }
    const url = (req.url ?? '/').replace(/\/+$/, '');
    const started = view().publicUrl !== '';
    if (req.method === 'GET' && url === '/api/tunnels') {
      send(200, { tunnels: started ? [tunnelJson()] : [], uri: '/api/tunnels' });
    } else if (req.method === 'GET' && url === '/api/tunnels/command_line' && started) {
      send(200, tunnelJson());
    } else if (req.method === 'GET' && url === '/api/endpoints') {
      const endpoints = started
        ? [
            {
              name: 'command_line',
              uri: '/api/endpoints/command_line',
              url: view().publicUrl,
              upstream: { url: `localhost:${tcp.addr.port}`, protocol: 'tcp' },
              inspect: false,
              traffic_policy: '',
              pooling_enabled: false,
            },
          ]
        : [];
      send(200, { endpoints, uri: '/api/endpoints' });
    } else if (req.method === 'GET' && url === '/api') {
      send(200, { uri: '/api', tunnels: '/api/tunnels' });
    } else {
      send(404, { error_code: 100, status_code: 404, msg: 'Not Found', details: { path: req.url } });
    }
  });
  const listen = (host: string, port: number) =>
    new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen({ host, port }, () => {
        server.removeAllListeners('error');
        resolve(true);
      });
    });
  const explicit = webAddr ? /^(.*):(\d+)$/.exec(webAddr) : null;
  let ok = false;
  if (explicit) ok = await listen(explicit[1] || '127.0.0.1', Number(explicit[2]));
  else {
    for (let port = 4040; port < 4050 && !ok; port++) ok = await listen('127.0.0.1', port);
    if (!ok) ok = await listen('127.0.0.1', 0);
  }
  if (!ok) return undefined;
  const address = server.address() as net.AddressInfo;
  return {
    addr: `127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
