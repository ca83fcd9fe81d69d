// Finds the far agent's TCP address through the ngrok API: GET {apiUrl}/endpoints, following next_page_uri.
import { ProviderError } from '@tunnelmux/core';
import { z } from 'zod';
import { describeNgrokCode, findNgrokCode } from './errors';
import { parseTcpAddress, type Selector, type TcpAddress } from './options';

/** One online TCP endpoint, reduced to what a path needs. */
export interface Endpoint extends TcpAddress {
  id: string;
  /** `tcp://host:port`. */
  url: string;
  metadata: string;
  createdAt: string;
}

export interface LookupInput {
  apiUrl: string;
  apiKey: string;
  /** The variable the key came from, named in error messages (never the key). */
  apiKeyEnv: string;
  signal: AbortSignal;
  timeoutMs: number;
  maxPages: number;
}

export interface LookupResult {
  endpoints: Endpoint[];
  /** True when more pages existed than `maxPages` allowed. */
  truncated: boolean;
  latencyMs: number;
}

const PROVIDER = 'ngrok';

// Lenient: only the fields we read are checked; the API adds fields over time.
const endpointRecord = z
  .object({
    id: z.string(),
    proto: z.string().optional(),
    public_url: z.string().optional(),
    url: z.string().optional(),
    hostport: z.string().optional(),
    host: z.string().optional(),
    port: z.number().optional(),
    metadata: z.string().optional(),
    created_at: z.string().optional(),
  })
  .loose();
const listPage = z
  .object({ endpoints: z.array(z.unknown()), next_page_uri: z.string().nullable().optional() })
  .loose();
const apiErrorBody = z
  .object({ error_code: z.union([z.string(), z.number()]).optional(), msg: z.string().optional() })
  .loose();

/** A TCP endpoint's address, from `hostport`, `host`/`port`, or its URL; undefined for other protocols. */
function toEndpoint(value: unknown): Endpoint | undefined {
  const parsed = endpointRecord.safeParse(value);
  if (!parsed.success) return undefined;
  const record = parsed.data;
  const url = record.url ?? record.public_url ?? '';
  const isTcp = record.proto === 'tcp' || url.startsWith('tcp://');
  if (!isTcp) return undefined;
  const address =
    (record.hostport ? parseTcpAddress(`tcp://${record.hostport}`) : undefined) ??
    (record.host && record.port ? { host: record.host, port: record.port } : undefined) ??
    parseTcpAddress(url);
  if (!address) return undefined;
  return {
    ...address,
    id: record.id,
    url: url || `tcp://${address.host}:${address.port}`,
    metadata: record.metadata ?? '',
    createdAt: record.created_at ?? '',
  };
}

/** The ngrok error code and a short reason from an API error body, without its `msg` (which echoes the key). */
async function apiFailure(response: Response): Promise<{ code?: number; label: string }> {
  const text = await response.text().catch(() => '');
  let code: number | undefined;
  try {
    const body = apiErrorBody.safeParse(JSON.parse(text));
    if (body.success) code = findNgrokCode(String(body.data.error_code ?? ''));
  } catch {
    // Not JSON (a proxy's HTML page): the status alone has to do.
  }
  const label = code
    ? `HTTP ${response.status} ERR_NGROK_${code}: ${describeNgrokCode(code).meaning}`
    : `HTTP ${response.status}`;
  return { code, label };
}

/** List the account's online endpoints, following `next_page_uri` for at most `maxPages` pages. */
export async function listEndpoints(input: LookupInput): Promise<LookupResult> {
  const started = Date.now();
  const origin = new URL(input.apiUrl).origin;
  const endpoints: Endpoint[] = [];
  let next: string | null | undefined = `${input.apiUrl}/endpoints`;
  let pages = 0;
  while (next && pages < input.maxPages) {
    const url = new URL(next, input.apiUrl);
    if (url.origin !== origin) {
      // The key is sent with every page; never to a host other than the configured API.
      throw new ProviderError(
        `the ngrok API sent a next_page_uri on another host (${url.origin}); not following it`,
        {
          provider: PROVIDER,
          fatal: true,
        },
      );
    }
    const response = await request(url, input);
    if (!response.ok) {
      const { label } = await apiFailure(response);
      const status = response.status;
      if (status === 401 || status === 403) {
        throw new ProviderError(
          `the ngrok API at ${input.apiUrl} rejected the API key (${label}); check ${input.apiKeyEnv}: it must hold an ngrok API key from https://dashboard.ngrok.com/api-keys, not the agent authtoken`,
          { provider: PROVIDER, fatal: true },
        );
      }
      const transient = status === 429 || status >= 500;
      throw new ProviderError(
        transient
          ? `the ngrok API at ${input.apiUrl} is unavailable (${label}); will retry`
          : `the ngrok API at ${input.apiUrl} refused GET ${url.pathname} (${label}); check option "apiUrl"`,
        { provider: PROVIDER, fatal: !transient },
      );
    }
    let page: z.output<typeof listPage>;
    try {
      page = listPage.parse(await response.json());
    } catch (error) {
      throw new ProviderError(`the ngrok API at ${input.apiUrl} returned an unreadable endpoint list`, {
        provider: PROVIDER,
        cause: error,
      });
    }
    for (const record of page.endpoints) {
      const endpoint = toEndpoint(record);
      if (endpoint) endpoints.push(endpoint);
    }
    next = page.next_page_uri;
    pages += 1;
  }
  return { endpoints, truncated: Boolean(next), latencyMs: Date.now() - started };
}

async function request(url: URL, input: LookupInput): Promise<Response> {
  try {
    return await fetch(url, {
      headers: { Authorization: `Bearer ${input.apiKey}`, 'Ngrok-Version': '2', Accept: 'application/json' },
      signal: AbortSignal.any([input.signal, AbortSignal.timeout(input.timeoutMs)]),
      redirect: 'error',
    });
  } catch (error) {
    if (input.signal.aborted) throw input.signal.reason ?? error;
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    const reason = timedOut ? `no answer within ${input.timeoutMs} ms` : errorText(error);
    throw new ProviderError(`could not reach the ngrok API at ${input.apiUrl}: ${reason}; will retry`, {
      provider: PROVIDER,
      cause: error,
    });
  }
}

/** `fetch failed (ECONNREFUSED)`: undici hides the useful part in `cause`. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ? `${error.message} (${cause.code})` : error.message;
}

/** The endpoint a selector means: by id or URL exactly, by metadata the newest match. */
export function selectEndpoint(endpoints: readonly Endpoint[], selector: Selector): Endpoint | undefined {
  switch (selector.by) {
    case 'id':
      return endpoints.find((endpoint) => endpoint.id === selector.value);
    case 'url': {
      const wanted = parseTcpAddress(selector.value);
      return endpoints.find(
        (endpoint) =>
          wanted &&
          endpoint.host.toLowerCase() === wanted.host.toLowerCase() &&
          endpoint.port === wanted.port,
      );
    }
    case 'metadata':
      return endpoints
        .filter((endpoint) => endpoint.metadata === selector.value)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  }
}
