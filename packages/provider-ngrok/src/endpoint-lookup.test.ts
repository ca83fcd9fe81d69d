import net from 'node:net';
import { ProviderError } from '@tunnelmux/core';
import { type FakeNgrokApi, startFakeNgrokApi } from '@tunnelmux/testkit/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEndpoints, selectEndpoint } from './endpoint-lookup';

const KEY = 'lookup_2abcAPIkeyZZZ_secretpart';

describe('listEndpoints against the fake ngrok API', () => {
  let api: FakeNgrokApi;
  const input = (extra: Partial<Parameters<typeof listEndpoints>[0]> = {}) => ({
    apiUrl: api.url,
    apiKey: KEY,
    apiKeyEnv: 'NGROK_API_KEY',
    signal: AbortSignal.timeout(10_000),
    timeoutMs: 5_000,
    maxPages: 20,
    ...extra,
  });

  beforeAll(async () => {
    api = await startFakeNgrokApi({ apiKey: KEY, pageSize: 2 });
  });
  afterAll(() => api.close());

  it('sends the key as a Bearer token with Ngrok-Version 2 and follows next_page_uri', async () => {
    api.setEndpoints([1, 2, 3, 4, 5].map((n) => ({ port: 20_000 + n, metadata: `m${n}` })));
    const before = api.requests.length;
    const result = await listEndpoints(input());
    expect(result.endpoints.map((endpoint) => endpoint.port)).toEqual([
      20_001, 20_002, 20_003, 20_004, 20_005,
    ]);
    expect(result.truncated).toBe(false);
    const seen = api.requests.slice(before);
    expect(seen).toHaveLength(3);
    expect(seen.every((request) => request.authorized && request.version === '2')).toBe(true);
  });

  it('stops after maxPages and says the list was cut', async () => {
    api.setEndpoints([1, 2, 3, 4, 5].map((n) => ({ port: 20_000 + n })));
    const result = await listEndpoints(input({ maxPages: 2 }));
    expect(result.endpoints).toHaveLength(4);
    expect(result.truncated).toBe(true);
  });

  it('turns 401 into a fatal error that names the variable, never the key', async () => {
    const error = await listEndpoints(input({ apiKey: 'wrong_key_value' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).fatal).toBe(true);
    expect((error as Error).message).toContain('check NGROK_API_KEY');
    expect((error as Error).message).toContain('ERR_NGROK_203');
    // The API's own message echoes the credential; it must not travel on.
    expect((error as Error).message).not.toContain('wrong_key_value');
  });

  it('treats an unreachable API as transient', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const error = await listEndpoints(input({ apiUrl: `http://127.0.0.1:${closed}` })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).fatal).toBe(false);
    expect((error as Error).message).toContain('could not reach the ngrok API');
  });

  it('selects by metadata (newest), id and url', async () => {
    const [older, , other] = api.setEndpoints([
      { port: 21_001, metadata: 'ssh', createdAt: '2026-01-01T00:00:00Z' },
      { port: 21_002, metadata: 'ssh', createdAt: '2026-02-01T00:00:00Z' },
      { port: 21_003, metadata: 'web' },
    ]);
    const { endpoints } = await listEndpoints(input());
    expect(selectEndpoint(endpoints, { by: 'metadata', value: 'ssh' })?.port).toBe(21_002);
    expect(selectEndpoint(endpoints, { by: 'id', value: older!.id })?.port).toBe(21_001);
    expect(selectEndpoint(endpoints, { by: 'url', value: other!.url })?.port).toBe(21_003);
    expect(selectEndpoint(endpoints, { by: 'metadata', value: 'nope' })).toBeUndefined();
  });
});

describe('listEndpoints paging safety', () => {
  // The key rides on every page request, so a next_page_uri on another host must not be followed.
  it('refuses a next_page_uri on another host', async () => {
    const { createServer } = await import('node:http');
    const hosts: string[] = [];
    const server = createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          endpoints: [],
          next_page_uri: 'https://elsewhere.example/endpoints?before_id=ep_x',
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const error = await listEndpoints({
      apiUrl: `http://127.0.0.1:${port}`,
      apiKey: KEY,
      apiKeyEnv: 'NGROK_API_KEY',
      signal: AbortSignal.timeout(10_000),
      timeoutMs: 5_000,
      maxPages: 5,
    }).catch((e: unknown) => e);
    await new Promise((resolve) => server.close(resolve));
    expect((error as ProviderError).fatal).toBe(true);
    expect((error as Error).message).toContain('not following it');
    expect(hosts).toEqual([`127.0.0.1:${port}`]);
  });
});
