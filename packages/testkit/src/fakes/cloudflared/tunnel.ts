// The expose side: `cloudflared tunnel … run` (named tunnel, token from TUNNEL_TOKEN or --token) and
// `cloudflared tunnel --url http://…` (quick tunnel). A metrics server answers /ready, /healthcheck, /quicktunnel
// and /metrics; a fake "edge" listens on a loopback public port and forwards each connection to the ingress service.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { Forwarder, readFaults, watchFaults } from '../../forwarder';
import { forwarderFaults, panic } from './access';
import { flagValue, isSet, type Parsed, UsageError } from './args';
import {
  CLOUDFLARED_EDGE_FILE_ENV,
  CLOUDFLARED_EDGE_PORT_ENV,
  CLOUDFLARED_FAKE_VERSION,
  CLOUDFLARED_FAULTS_ENV,
  CLOUDFLARED_INGRESS_ENV,
  CLOUDFLARED_PUBLIC_HOSTNAME_ENV,
  CLOUDFLARED_TUNNEL_SECRET_ENV,
  type CloudflaredEdgeInfo,
  type CloudflaredFaults,
  type CloudflaredTarget,
} from './hooks';
import { startJunk } from './junk';
import { parseLevel, ZerologConsole } from './zerolog';

const stderr = (text: string) => process.stderr.write(text);

/** What a tunnel token decodes to (connection.TunnelToken). */
export interface TunnelToken {
  a: string;
  t: string;
  s: string;
}

/** `ParseToken`: base64 (std or URL alphabet) of a JSON object with string `a`, `t` and `s`. */
export function parseTunnelToken(raw: string): TunnelToken | undefined {
  const text = raw.trim();
  if (!/^[A-Za-z0-9+/_-]+=*$/.test(text)) return undefined;
  try {
    const json = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Record<string, unknown>;
    const { a, t, s } = json;
    if (typeof a !== 'string' || typeof t !== 'string' || typeof s !== 'string') return undefined;
    if (!a || !t || !s) return undefined;
    return { a, t, s };
  } catch {
    return undefined;
  }
}

const WORDS = [
  'retail',
  'curves',
  'bernard',
  'affairs',
  'garden',
  'silver',
  'planet',
  'harbor',
  'violin',
  'summit',
  'meadow',
  'copper',
  'lantern',
  'orbit',
  'thunder',
  'canyon',
  'marble',
  'pepper',
  'quartz',
  'saddle',
];

/** A quick tunnel hostname such as `retail-curves-bernard-affairs.trycloudflare.com`. */
function quickHostname(): string {
  const bytes = randomBytes(4);
  return `${[...bytes].map((byte) => WORDS[byte % WORDS.length]).join('-')}.trycloudflare.com`;
}

/** `cliutil.LogTable`: a box of rows with two spaces of padding, one INF line per row. */
export function logTable(rows: readonly string[]): string[] {
  const width = Math.max(...rows.map((row) => row.length));
  const border = `+${'-'.repeat(width + 4)}+`;
  return [border, ...rows.map((row) => `|  ${row.padEnd(width)}  |`), border];
}

/** `host:port` (an http(s) URL is accepted for `--url`); undefined when it has no port. */
function parseAddress(raw: string): CloudflaredTarget | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `tcp://${raw}`;
  try {
    const url = new URL(withScheme);
    const defaults: Record<string, number> = { 'http:': 80, 'https:': 443 };
    const port = url.port !== '' ? Number(url.port) : defaults[url.protocol];
    if (!url.hostname || port === undefined || Number.isNaN(port)) return undefined;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return { host: host === 'localhost' ? '127.0.0.1' : host, port };
  } catch {
    return undefined;
  }
}

function writeEdgeFile(file: string | undefined, info: CloudflaredEdgeInfo): void {
  if (!file) return;
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(info));
  renameSync(temp, file);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Edge IPs of the fake's four connections (the real ones are in 198.41.192.0/19). */
const EDGE_IPS = ['198.41.200.13', '198.41.192.107', '198.41.200.193', '198.41.192.27'];
const UNAUTHORIZED = 'Unauthorized: Invalid tunnel secret';

/** Runs until a signal (exit 0) or a fatal problem (exit 1). */
export async function runTunnel(parsed: Parsed, env: NodeJS.ProcessEnv): Promise<number> {
  const log = new ZerologConsole(parseLevel(flagValue(parsed, 'loglevel', env)));
  const named = parsed.action === 'tunnel-run';
  const command = parsed.path.join(' ');

  let token: TunnelToken | undefined;
  let quickOrigin: CloudflaredTarget | undefined;
  const rawUrl = flagValue(parsed, 'url', env);
  if (named) {
    const tokenFile = flagValue(parsed, 'token-file', env);
    let raw = flagValue(parsed, 'token', env);
    if (raw === undefined && tokenFile !== undefined) {
      try {
        raw = readFileSync(tokenFile, 'utf8');
      } catch (error) {
        throw new UsageError(`Failed to read token file: ${(error as Error).message}`, command);
      }
    }
    if (raw === undefined) {
      throw new UsageError(
        '"cloudflared tunnel run" requires the ID or name of the tunnel to run as the last command line argument or in the configuration file.',
        command,
      );
    }
    token = parseTunnelToken(raw);
    if (!token) throw new UsageError('Provided Tunnel token is not valid.', command);
  } else {
    if (!rawUrl && !isSet(parsed, 'hello-world', env)) {
      stderr(
        '[fake cloudflared] "cloudflared tunnel" without --url (a quick tunnel) or "run" is not implemented by this fake\n',
      );
      return 1;
    }
    quickOrigin = rawUrl ? parseAddress(rawUrl) : undefined;
    if (rawUrl && !quickOrigin) {
      log.error('Error validating origin URL', { error: `${rawUrl} doesn't have a port` });
      stderr(`${rawUrl} doesn't have a port\n`);
      return 1;
    }
  }

  const faultsFile = env[CLOUDFLARED_FAULTS_ENV];
  let faults = readFaults(faultsFile) as CloudflaredFaults;
  if (faults.startup === 'crash') panic('fake crash at start-up (startup: "crash" in TUNNELMUX_FAKE_FAULTS)');

  const tunnelId = token?.t ?? randomUUID();
  const connectorId = randomUUID();
  let hostname: string;
  if (named) {
    hostname = env[CLOUDFLARED_PUBLIC_HOSTNAME_ENV] || `${tunnelId}.cfargotunnel.com`;
  } else {
    log.info('Requesting new quick Tunnel on trycloudflare.com...');
    hostname = quickHostname();
    for (const row of logTable([
      'Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):',
      `https://${hostname}`,
    ]))
      log.info(row);
  }
  const haConnections = named ? Number(flagValue(parsed, 'ha-connections', env) ?? 4) || 4 : 1;
  const retries = Number(flagValue(parsed, 'retries', env) ?? 5);
  const metricsFlag = flagValue(parsed, 'metrics', env);

  if (named) log.info('Starting tunnel', { tunnelID: tunnelId });
  log.info(`Version ${CLOUDFLARED_FAKE_VERSION} (Checksum ${randomBytes(32).toString('hex')})`);
  log.info(`GOOS: linux, GOVersion: go1.24.9, GoArch: amd64`);
  const settings = [
    metricsFlag ? `metrics:${metricsFlag}` : '',
    isSet(parsed, 'no-autoupdate', env) ? 'no-autoupdate:true' : '',
    rawUrl ? `url:${rawUrl}` : '',
    named ? 'token:*****' : '',
  ].filter(Boolean);
  log.info(`Settings: map[${settings.join(' ')}]`);
  log.info(`Generated Connector ID: ${connectorId}`);
  log.info('Initial protocol quic');

  // Connection state, read by /ready and /metrics.
  const registered = new Set<number>();
  let totalSessions = 0;
  let activeSessions = 0;
  const readyBody = () =>
    JSON.stringify({
      status: registered.size > 0 ? 200 : 503,
      readyConnections: registered.size,
      connectorId,
    });
  const metrics = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const send = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      response.end(body);
    };
    if (path === '/ready') return send(registered.size > 0 ? 200 : 503, readyBody());
    if (path === '/healthcheck') return send(200, 'OK\n', 'text/plain; charset=utf-8');
    if (path === '/quicktunnel') return send(200, JSON.stringify({ hostname: named ? '' : hostname }));
    if (path === '/metrics') {
      const lines = [
        '# TYPE build_info gauge',
        `build_info{goversion="go1.24.9",revision="fake",type="",version="${CLOUDFLARED_FAKE_VERSION}"} 1`,
        '# TYPE cloudflared_tunnel_ha_connections gauge',
        `cloudflared_tunnel_ha_connections ${registered.size}`,
        '# TYPE cloudflared_tunnel_total_requests counter',
        'cloudflared_tunnel_total_requests 0',
        '# TYPE cloudflared_tunnel_request_errors counter',
        'cloudflared_tunnel_request_errors 0',
        '# TYPE cloudflared_tcp_active_sessions gauge',
        `cloudflared_tcp_active_sessions ${activeSessions}`,
        '# TYPE cloudflared_tcp_total_sessions counter',
        `cloudflared_tcp_total_sessions ${totalSessions}`,
      ];
      return send(200, `${lines.join('\n')}\n`, 'text/plain; version=0.0.4; charset=utf-8');
    }
    if (path.startsWith('/debug/pprof/cmdline')) return send(403, 'Forbidden\n', 'text/plain');
    send(404, '404 page not found\n', 'text/plain; charset=utf-8');
  });
  const metricsAddress = await listenMetrics(metrics, metricsFlag);
  if ('error' in metricsAddress) {
    log.error('failed to start metrics server', { error: metricsAddress.error });
    stderr(`${metricsAddress.error}\n`);
    return 1;
  }
  log.info(`Starting metrics server on ${metricsAddress.address}/metrics`);

  // The fake edge: a loopback "public" port carrying each connection to the ingress service.
  const ingressRaw = named ? env[CLOUDFLARED_INGRESS_ENV] : undefined;
  const ingress = quickOrigin ?? (ingressRaw ? parseAddress(ingressRaw) : undefined);
  const edgeFaults = (): CloudflaredFaults =>
    // No connection to the edge, or no ingress rule: the edge has nowhere to send the client.
    registered.size === 0 || !ingress ? { ...faults, mode: 'refuse' } : faults;
  const edge = new Forwarder({
    listen: { host: '127.0.0.1', port: Number(env[CLOUDFLARED_EDGE_PORT_ENV] ?? 0) || 0 },
    target: ingress ?? { host: '127.0.0.1', port: 9 },
    faults: forwarderFaults(edgeFaults()),
    onConnection: (socket: net.Socket) => {
      totalSessions += 1;
      activeSessions += 1;
      socket.once('close', () => {
        activeSessions -= 1;
      });
    },
  });
  const updateEdge = () => edge.setFaults(forwarderFaults(edgeFaults()));
  let publicAddress: string;
  try {
    const bound = await edge.start();
    publicAddress = `${bound.host}:${bound.port}`;
  } catch (error) {
    stderr(`[fake cloudflared] the fake edge could not listen: ${(error as Error).message}\n`);
    return 1;
  }

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) process.exit(0); // a second signal skips the grace period
    stopping = true;
    log.info(
      `Initiating graceful shutdown due to signal ${signal === 'SIGINT' ? 'interrupt' : 'terminated'} ...`,
    );
    for (const index of [...registered].sort()) {
      log.info('Unregistered tunnel connection', { connIndex: index, event: 0, ip: EDGE_IPS[index % 4]! });
    }
    registered.clear();
    await edge.close();
    metrics.close();
    metrics.closeAllConnections();
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(signal));
  }

  const register = (index: number) => {
    registered.add(index);
    log.info('Registered tunnel connection', {
      connIndex: index,
      connection: randomUUID(),
      event: 0,
      ip: EDGE_IPS[index % 4]!,
      location: ['fra08', 'ams01', 'fra10', 'ams08'][index % 4]!,
      protocol: 'quic',
    });
  };
  const lose = (index: number, error: string) => {
    registered.delete(index);
    const fields = { connIndex: index, event: 0, ip: EDGE_IPS[index % 4]! };
    log.warn('Connection terminated', { error, connIndex: index });
    log.error('Serve tunnel error', { error, ...fields });
    log.info('Retrying connection in up to 1s', fields);
  };

  const rejected =
    faults.startup === 'auth' ||
    (named &&
      env[CLOUDFLARED_TUNNEL_SECRET_ENV] !== undefined &&
      token!.s !== env[CLOUDFLARED_TUNNEL_SECRET_ENV]);
  // The edge refuses the registration; cloudflared retries the first connection, then gives up (exit 1).
  const giveUp = async (): Promise<never> => {
    const fields = { connIndex: 0, event: 0, ip: EDGE_IPS[0]! };
    for (let attempt = 0; attempt <= retries && !stopping; attempt++) {
      log.error('Register tunnel error from server side', { error: UNAUTHORIZED, ...fields });
      if (attempt < retries) {
        log.info(`Retrying connection in up to ${2 ** attempt}s`, fields);
        await sleep(50);
      }
    }
    log.error('Initiating shutdown', { error: UNAUTHORIZED });
    await edge.close();
    metrics.close();
    stderr(`${UNAUTHORIZED}\n`);
    process.exit(1);
  };
  if (rejected) return giveUp();

  let junk: (() => void) | undefined;
  let lost = false;
  let revoked = false;
  const apply = (next: CloudflaredFaults) => {
    faults = next;
    if (faults.mode === 'crash') panic('fake crash (mode: "crash" in TUNNELMUX_FAKE_FAULTS)');
    if (faults.junk && !junk) junk = startJunk(process.stderr);
    if (!faults.junk && junk) {
      junk();
      junk = undefined;
    }
    if (stopping || revoked) return;
    if (faults.startup === 'auth' && registered.size > 0) {
      // The token was revoked while running: the edge drops every connection and refuses them back.
      revoked = true;
      for (const index of [...registered].sort()) lose(index, UNAUTHORIZED);
      updateEdge();
      void giveUp();
      return;
    }
    if (faults.startup === 'hang') return updateEdge();
    if (faults.mode === 'ready503' && !lost) {
      lost = true;
      for (const index of [...registered].sort()) lose(index, 'timeout: no recent network activity');
    } else if (faults.mode !== 'ready503' && lost) {
      lost = false;
      for (let index = 0; index < haConnections; index++) register(index);
    }
    updateEdge();
  };

  // `hang` never gets an edge connection: the metrics server answers, /ready stays 503.
  if (faults.startup !== 'hang' && faults.mode !== 'ready503') {
    for (let index = 0; index < haConnections; index++) register(index);
  } else if (faults.mode === 'ready503') {
    lost = true;
  }
  updateEdge();
  writeEdgeFile(env[CLOUDFLARED_EDGE_FILE_ENV], { publicAddress, hostname });
  watchFaults(faultsFile, (next) => apply(next as CloudflaredFaults));
  setInterval(() => undefined, 1 << 30);
  return new Promise<number>(() => undefined);
}

/** Bind the metrics server: `--metrics host:port`, else the first free of 20241–20245, else any port. */
async function listenMetrics(
  server: http.Server,
  flag: string | undefined,
): Promise<{ address: string } | { error: string }> {
  const listen = (host: string, port: number) =>
    new Promise<string>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve(`${host}:${(server.address() as net.AddressInfo).port}`);
      });
    });
  if (flag) {
    const target = parseAddress(flag);
    if (!target) return { error: `failed to parse metrics address ${flag}` };
    try {
      return { address: await listen(target.host, target.port) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'EADDRINUSE' ? 'address already in use' : (error as Error).message;
      return { error: `listen tcp ${target.host}:${target.port}: bind: ${reason}` };
    }
  }
  for (let port = 20241; port <= 20245; port++) {
    try {
      return { address: await listen('127.0.0.1', port) };
    } catch {
      // taken: try the next one, as cloudflared does
    }
  }
  return { address: await listen('127.0.0.1', 0) };
}
