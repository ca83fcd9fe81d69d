import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';

/** What a test says about one endpoint; the rest of ngrok's record is filled in. */
export interface FakeEndpointInput {
  /** The public TCP address; for the fake, a loopback port the far agent listens on. */
  host?: string;
  port: number;
  id?: string;
  metadata?: string;
  description?: string;
  name?: string;
  /** `ephemeral` for a free random address, `cloud`/`agent` for others (ngrok's `type`). */
  type?: string;
  proto?: string;
  createdAt?: string;
}

/** One record of `GET /endpoints`, in the shape the real API returns. */
export interface NgrokApiEndpoint {
  id: string;
  region: string;
  created_at: string;
  updated_at: string;
  public_url: string;
  proto: string;
  scheme: string;
  hostport: string;
  host: string;
  port: number;
  type: string;
  metadata: string;
  description: string;
  tunnel: { id: string; uri: string };
  tunnel_session: { id: string; uri: string };
  upstream_url: string;
  upstream_protocol: string;
  url: string;
  principal: { id: string; uri: string };
  bindings: string[];
  uri: string;
  name: string;
  pooling_enabled: boolean;
}

export interface FakeNgrokApiOptions {
  /** The one API key the fake accepts as `Authorization: Bearer <key>`. */
  apiKey: string;
  endpoints?: readonly FakeEndpointInput[];
  /** Records per page before `next_page_uri` points at the next one (default 100). */
  pageSize?: number;
}

export interface FakeNgrokApi {
  /** Base URL to pass as the provider's `apiUrl`, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Replace the online endpoints, e.g. to simulate the far agent restarting on a new port. */
  setEndpoints(endpoints: readonly FakeEndpointInput[]): NgrokApiEndpoint[];
  /** Every request seen, newest last (method, path, whether its key was accepted). */
  readonly requests: ReadonlyArray<{ method: string; path: string; authorized: boolean; version?: string }>;
  close(): Promise<void>;
}

const API = 'https://api.ngrok.com';

function randomId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(27);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return `${prefix}_${id}`;
}

/** Fill in an endpoint record the way the real API shows a TCP endpoint. */
export function fakeEndpoint(input: FakeEndpointInput): NgrokApiEndpoint {
  const host = input.host ?? '127.0.0.1';
  const hostport = `${host}:${input.port}`;
  const url = `tcp://${hostport}`;
  const id = input.id ?? randomId('ep');
  const created = input.createdAt ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const tunnel = randomId('tn');
  const session = randomId('ts');
  return {
    id,
    region: 'us',
    created_at: created,
    updated_at: created,
    public_url: url,
    proto: input.proto ?? 'tcp',
    scheme: 'tcp',
    hostport,
    host,
    port: input.port,
    type: input.type ?? 'ephemeral',
    metadata: input.metadata ?? '',
    description: input.description ?? '',
    tunnel: { id: tunnel, uri: `${API}/tunnels/${tunnel}` },
    tunnel_session: { id: session, uri: `${API}/tunnel_sessions/${session}` },
    upstream_url: 'tcp://localhost:22',
    upstream_protocol: '',
    url,
    principal: { id: randomId('usr'), uri: '' },
    bindings: ['public'],
    uri: `${API}/endpoints/${id}`,
    name: input.name ?? '',
    pooling_enabled: false,
  };
}

/** ngrok's API error body: `{"error_code","status_code","msg","details":{"operation_id"}}`. */
function apiError(status: number, code: string, msg: string) {
  return { error_code: code, status_code: status, msg, details: { operation_id: randomId('op') } };
}

/** An in-process stand-in for `https://api.ngrok.com` serving `GET /endpoints` on 127.0.0.1. */
export async function startFakeNgrokApi(options: FakeNgrokApiOptions): Promise<FakeNgrokApi> {
  let endpoints: NgrokApiEndpoint[] = (options.endpoints ?? []).map(fakeEndpoint);
  const requests: Array<{ method: string; path: string; authorized: boolean; version?: string }> = [];
  const pageSize = options.pageSize ?? 100;
  let base = '';

  const server = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', base);
    const version = req.headers['ngrok-version'];
    const auth = req.headers.authorization;
    const authorized = auth === `Bearer ${options.apiKey}`;
    requests.push({
      method: req.method ?? '',
      path: url.pathname + url.search,
      authorized,
      version: version as string,
    });
    if (!auth) {
      send(
        401,
        apiError(
          401,
          'ERR_NGROK_200',
          'The ngrok API requires that you set the Authorization header for authentication. Your API keys and instructions are available on your dashboard: https://dashboard.ngrok.com/api',
        ),
      );
      return;
    }
    if (!authorized) {
      // The real message echoes the credential; clients must not copy it into their own errors.
      const given = auth.replace(/^Bearer\s+/i, '');
      send(
        401,
        apiError(
          401,
          'ERR_NGROK_203',
          `The API authentication you specified is properly formed, but it is invalid.\n\nYour authentication: "${given}"\n\nAPI keys and instructions are available on your dashboard: https://dashboard.ngrok.com/api`,
        ),
      );
      return;
    }
    if (version !== '2') {
      send(
        400,
        version === undefined
          ? apiError(
              400,
              'ERR_NGROK_218',
              'Your request has not specified an API version. Please include the version you wish to use in the Ngrok-Version header. Supported versions: 2.',
            )
          : apiError(
              400,
              'ERR_NGROK_217',
              `The provided API version ${version} is invalid or unsupported. Supported versions: 2.`,
            ),
      );
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/endpoints') {
      send(404, apiError(404, 'ERR_NGROK_404', 'Not found'));
      return;
    }
    const limit = Math.min(Number(url.searchParams.get('limit') ?? pageSize) || pageSize, pageSize);
    const before = url.searchParams.get('before_id');
    const start = before ? endpoints.findIndex((endpoint) => endpoint.id === before) + 1 : 0;
    const page = endpoints.slice(start, start + limit);
    const more = start + limit < endpoints.length;
    send(200, {
      endpoints: page,
      uri: `${base}/endpoints`,
      next_page_uri: more ? `${base}/endpoints?before_id=${page.at(-1)!.id}&limit=${limit}` : null,
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: base,
    requests,
    setEndpoints(next) {
      endpoints = next.map(fakeEndpoint);
      return endpoints;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
