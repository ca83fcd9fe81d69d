// Test hooks of the fake cloudflared: what stands in for Cloudflare's edge and Access. The provider never sees
// these; tests set them in the environment of the process that spawns the fake, and `fakeEnv()` lets them through
// core's child environment (TUNNELMUX_PASS_ENV); no name here looks like a secret, or the pattern would drop it.
import type { Faults } from '../../forwarder';
import { writeFaults } from '../../forwarder';
import { FAKE_PASS_ENV } from '../../paths';

/** Where each Access hostname leads: `ssh.example.com=127.0.0.1:2222,db.example.com=127.0.0.1:5432`. */
export const CLOUDFLARED_ROUTES_ENV = 'TUNNELMUX_FAKE_CLOUDFLARE_ROUTES';
/** When set to `<id>:<secret>`, the Access app requires that service token (else: browser login). */
export const CLOUDFLARED_SERVICE_TOKEN_ENV = 'TUNNELMUX_FAKE_CLOUDFLARE_ACCESS_POLICY';
/** Path of a JSON fault file (see `CloudflaredFaults`), polled while the fake runs. */
export const CLOUDFLARED_FAULTS_ENV = 'TUNNELMUX_FAKE_FAULTS';
/** Expose side: the local service a named tunnel's (remotely managed) ingress sends traffic to, `host:port`. */
export const CLOUDFLARED_INGRESS_ENV = 'TUNNELMUX_FAKE_CLOUDFLARE_INGRESS';
/** Expose side: a fixed loopback port for the fake edge's "public" listener (default: a free port). */
export const CLOUDFLARED_EDGE_PORT_ENV = 'TUNNELMUX_FAKE_CLOUDFLARE_EDGE_PORT';
/** Expose side: a file the fake writes `{ "publicAddress": "127.0.0.1:P", "hostname": "…" }` to once published. */
export const CLOUDFLARED_EDGE_FILE_ENV = 'TUNNELMUX_FAKE_CLOUDFLARE_EDGE_FILE';
/** Expose side: the tunnel secret (`s` of the token) the edge accepts; other secrets get `Unauthorized`. */
export const CLOUDFLARED_TUNNEL_SECRET_ENV = 'TUNNELMUX_FAKE_CLOUDFLARE_EDGE_ACCEPTS';
/** Expose side: the public hostname of a named tunnel, for the edge file (default `<tunnel id>.cfargotunnel.com`). */
export const CLOUDFLARED_PUBLIC_HOSTNAME_ENV = 'TUNNELMUX_FAKE_CLOUDFLARE_PUBLIC_HOSTNAME';

/** The version the fake reports, in the real format. */
export const CLOUDFLARED_FAKE_VERSION = '2025.11.1';
export const CLOUDFLARED_FAKE_BUILT = '2025-11-07T16:30 UTC';

/**
 * The shared fault plan plus what only the fake cloudflared does:
 * - `startup: 'auth'`: access side: the Access app rejects the service token; every connection logs
 *   `failed to connect to origin` (a 403 at the edge) and is closed. Tunnel side: the edge answers
 *   `Unauthorized` to every registration, and cloudflared gives up after its retries (exit 1). Written while
 *   the tunnel runs, it stands for a revoked token: the connections drop, then the same give-up.
 * - `startup: 'hang'`: tunnel side: the metrics server runs but no edge connection ever registers (/ready 503).
 * - `mode: 'ready503'`: tunnel side: every edge connection is lost; /ready answers 503 and the public port
 *   resets connections until the mode changes back (then the connections register again).
 * - `junk: true`: print endless very long lines on stderr while serving (bounded-output tests).
 */
export type CloudflaredFaults = Omit<Faults, 'mode'> & { mode?: Faults['mode'] | 'ready503'; junk?: boolean };

/** Write a fault plan for a running fake cloudflared. */
export function writeCloudflaredFaults(file: string, faults: CloudflaredFaults): void {
  writeFaults(file, faults as Faults);
}

export interface CloudflaredTarget {
  host: string;
  port: number;
}

/** What a test hands the fake: routes, the Access policy and a fault file. */
export interface CloudflaredFakeSetup {
  /** Access side: where each Access hostname leads (the expose side needs none: pass `{}`). */
  routes: Record<string, CloudflaredTarget | string>;
  /** The service token the Access app demands; without it the app asks for a browser login. */
  serviceToken?: { id: string; secret: string };
  faultsFile?: string;
  /** Expose side: where a named tunnel's ingress leads (the local service). */
  ingress?: CloudflaredTarget | string;
  /** Expose side: a fixed loopback port for the fake edge's public listener. */
  edgePort?: number;
  /** Expose side: the file the fake announces its public address in. */
  edgeFile?: string;
  /** Expose side: the only tunnel secret the edge accepts (see `makeTunnelToken`). */
  tunnelSecret?: string;
  /** Expose side: the public hostname a named tunnel announces in the edge file. */
  publicHostname?: string;
}

/** What the fake writes to the edge file once its public listener is up. */
export interface CloudflaredEdgeInfo {
  publicAddress: string;
  hostname: string;
}

/** A tunnel token as `cloudflared tunnel token` prints it: base64 of `{"a":account,"t":tunnel id,"s":secret}`. */
export function makeTunnelToken(fields: { a?: string; t?: string; s: string }): string {
  const token = {
    a: fields.a ?? '0123456789abcdef0123456789abcdef',
    t: fields.t ?? 'c1744f8b-faa1-48a4-9e5c-02ac921467fa',
    s: fields.s,
  };
  return Buffer.from(JSON.stringify(token)).toString('base64');
}

/** The environment variables that configure the fake (merge them into `fakeEnv()`). */
export function cloudflaredFakeEnv(setup: CloudflaredFakeSetup): Record<string, string> {
  const routes = Object.entries(setup.routes)
    .map(
      ([host, target]) => `${host}=${typeof target === 'string' ? target : `${target.host}:${target.port}`}`,
    )
    .join(',');
  const env: Record<string, string> = { [CLOUDFLARED_ROUTES_ENV]: routes, ...FAKE_PASS_ENV };
  if (setup.serviceToken) {
    env[CLOUDFLARED_SERVICE_TOKEN_ENV] = `${setup.serviceToken.id}:${setup.serviceToken.secret}`;
  }
  if (setup.faultsFile) env[CLOUDFLARED_FAULTS_ENV] = setup.faultsFile;
  if (setup.ingress) {
    const target = setup.ingress;
    env[CLOUDFLARED_INGRESS_ENV] = typeof target === 'string' ? target : `${target.host}:${target.port}`;
  }
  if (setup.edgePort !== undefined) env[CLOUDFLARED_EDGE_PORT_ENV] = String(setup.edgePort);
  if (setup.edgeFile) env[CLOUDFLARED_EDGE_FILE_ENV] = setup.edgeFile;
  if (setup.tunnelSecret) env[CLOUDFLARED_TUNNEL_SECRET_ENV] = setup.tunnelSecret;
  if (setup.publicHostname) env[CLOUDFLARED_PUBLIC_HOSTNAME_ENV] = setup.publicHostname;
  return env;
}

/** Parse the routes hook; malformed entries are ignored (the hostname then has no route). */
export function parseRoutes(value: string | undefined): Map<string, CloudflaredTarget> {
  const routes = new Map<string, CloudflaredTarget>();
  for (const entry of (value ?? '').split(',')) {
    const match = /^\s*([^=\s]+)=([^:\s]+):(\d+)\s*$/.exec(entry);
    if (match) routes.set(match[1]!.toLowerCase(), { host: match[2]!, port: Number(match[3]) });
  }
  return routes;
}

/** Parse the Access policy hook: `<id>:<secret>` (the secret may contain colons). */
export function parseServiceToken(value: string | undefined): { id: string; secret: string } | undefined {
  if (!value) return undefined;
  const colon = value.indexOf(':');
  if (colon <= 0) return undefined;
  return { id: value.slice(0, colon), secret: value.slice(colon + 1) };
}
