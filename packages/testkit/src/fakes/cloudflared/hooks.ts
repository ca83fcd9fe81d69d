// Test hooks of the fake cloudflared: what stands in for Cloudflare's edge and Access. The provider never sees
// these; tests set them in the environment of the process that spawns the fake.
import type { Faults } from '../../forwarder';
import { writeFaults } from '../../forwarder';

/** Where each Access hostname leads: `ssh.example.com=127.0.0.1:2222,db.example.com=127.0.0.1:5432`. */
export const CLOUDFLARED_ROUTES_ENV = 'TUNNELMUX_FAKE_CLOUDFLARE_ROUTES';
/** When set to `<id>:<secret>`, the Access app requires that service token (else: browser login). */
export const CLOUDFLARED_SERVICE_TOKEN_ENV = 'TUNNELMUX_FAKE_CLOUDFLARE_SERVICE_TOKEN';
/** Path of a JSON fault file (see `CloudflaredFaults`), polled while the fake runs. */
export const CLOUDFLARED_FAULTS_ENV = 'TUNNELMUX_FAKE_FAULTS';

/** The version the fake reports, in the real format. */
export const CLOUDFLARED_FAKE_VERSION = '2025.11.1';
export const CLOUDFLARED_FAKE_BUILT = '2025-11-07T16:30 UTC';

/**
 * The shared fault plan plus what only the fake cloudflared does:
 * - `startup: 'auth'`: the Access app rejects the service token; every connection logs
 *   `failed to connect to origin` (a 403 at the edge) and is closed.
 * - `junk: true`: print endless very long lines on stderr while serving (bounded-output tests).
 */
export type CloudflaredFaults = Faults & { junk?: boolean };

/** Write a fault plan for a running fake cloudflared. */
export function writeCloudflaredFaults(file: string, faults: CloudflaredFaults): void {
  writeFaults(file, faults);
}

export interface CloudflaredTarget {
  host: string;
  port: number;
}

/** What a test hands the fake: routes, the Access policy and a fault file. */
export interface CloudflaredFakeSetup {
  routes: Record<string, CloudflaredTarget | string>;
  /** The service token the Access app demands; without it the app asks for a browser login. */
  serviceToken?: { id: string; secret: string };
  faultsFile?: string;
}

/** The environment variables that configure the fake (merge them into `fakeEnv()`). */
export function cloudflaredFakeEnv(setup: CloudflaredFakeSetup): Record<string, string> {
  const routes = Object.entries(setup.routes)
    .map(
      ([host, target]) => `${host}=${typeof target === 'string' ? target : `${target.host}:${target.port}`}`,
    )
    .join(',');
  const env: Record<string, string> = { [CLOUDFLARED_ROUTES_ENV]: routes };
  if (setup.serviceToken) {
    env[CLOUDFLARED_SERVICE_TOKEN_ENV] = `${setup.serviceToken.id}:${setup.serviceToken.secret}`;
  }
  if (setup.faultsFile) env[CLOUDFLARED_FAULTS_ENV] = setup.faultsFile;
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
