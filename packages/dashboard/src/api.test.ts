import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from './server';
import { fakeInstance } from './test/fake-instance';
import { openApiChecker } from './test/openapi';

let instance: ReturnType<typeof fakeInstance>;
let dashboard: Dashboard;
let auth: Record<string, string>;

beforeEach(async () => {
  instance = fakeInstance(['a', 'b', 'c']);
  dashboard = await startDashboard({ handlers: instance.handlers });
  auth = { authorization: `Bearer ${dashboard.token}` };
});
afterEach(async () => {
  await dashboard.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read whatever JSON the API answers
type Json = any;
const json = async (response: Response | Promise<Response>): Promise<Json> => (await response).json();

const get = (path: string, headers: Record<string, string> = auth) =>
  fetch(new URL(path, dashboard.url), { headers, signal: AbortSignal.timeout(10_000) });
const post = (path: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(new URL(path, dashboard.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });

describe('the API answers with the control handlers', () => {
  it('serves the status with its services, and one service’s paths', async () => {
    const status = await json(get('/api/v1/status'));
    expect(status.primary).toBe('a');
    expect(status.services).toEqual([
      expect.objectContaining({ name: 'default', primary: 'a', paths: expect.any(Array) }),
    ]);
    const paths = await json(get('/api/v1/services/default/paths'));
    expect(paths.map((p: { id: string }) => p.id)).toEqual(['a', 'b', 'c']);
  });

  it('pins a primary, fails over to the next path, restarts a path', async () => {
    const pinned = await post('/api/v1/services/default/primary', { id: 'c' });
    expect(pinned.status).toBe(200);
    expect((await json(pinned)).primary).toBe('c');
    const failed = await post('/api/v1/services/default/failover', {});
    expect((await json(failed)).primary).toBe('a');
    const off = await post('/api/v1/services/default/failover', { enabled: false });
    expect((await json(off)).autoFailover).toBe(false);
    const restarted = await post('/api/v1/services/default/paths/b/restart', {});
    expect((await json(restarted)).restarts).toBe(1);
  });

  it('answers every error in one shape, in the CLI’s words', async () => {
    const unknownService = await get('/api/v1/services/web/paths');
    expect(unknownService.status).toBe(404);
    expect(await json(unknownService)).toEqual({
      error: { code: 'ERR_NO_SERVICE', message: '[tunnelmux] no service "web"; known services: default' },
    });
    const unknownPath = await post('/api/v1/services/default/paths/zz/restart', {});
    expect(unknownPath.status).toBe(404);
    expect((await json(unknownPath)).error.message).toMatch(/no path "zz".*known paths: a, b, c/);
    instance.setState('b', 'reconnecting');
    const notConnected = await post('/api/v1/services/default/primary', { id: 'b' });
    expect(notConnected.status).toBe(409);
    expect((await json(notConnected)).error).toEqual({
      code: 'ERR_STATE',
      message: '[tunnelmux] path "b" is reconnecting; only a connected path can be made primary',
    });
    const badBody = await post('/api/v1/services/default/primary', { id: 5 });
    expect(badBody.status).toBe(400);
    expect((await json(badBody)).error).toMatchObject({
      code: 'ERR_BAD_REQUEST',
      message: expect.stringMatching(/^\[tunnelmux\] bad request: "id"/),
    });
    const extra = await post('/api/v1/services/default/primary', { id: 'a', force: true });
    expect((await json(extra)).error.message).toBe('[tunnelmux] bad request: "force" is not a known field');
    const nowhere = await get('/api/v1/nowhere');
    expect(nowhere.status).toBe(404);
    expect((await json(nowhere)).error.code).toBe('ERR_NOT_FOUND');
  });

  it('says plainly that history and report need a history, and serves one when given', async () => {
    const none = await get('/api/v1/history');
    expect(none.status).toBe(501);
    expect((await json(none)).error).toMatchObject({
      code: 'ERR_NO_HISTORY',
      message: expect.stringContaining('keeps no history'),
    });
    const asked: unknown[] = [];
    const withHistory = await startDashboard({
      handlers: instance.handlers,
      history: {
        history: (query) => {
          asked.push(query);
          return { events: [] };
        },
        report: () => ({ days: [{ day: '2026-01-01', path: 'a', availability: 0.999 }] }),
      },
    });
    try {
      const headers = { authorization: `Bearer ${withHistory.token}` };
      const history = await fetch(new URL('/api/v1/history?path=a&since=5', withHistory.url), { headers });
      expect(await json(history)).toEqual({ events: [] });
      expect(asked).toEqual([{ path: 'a', since: 5 }]);
      const report = await fetch(new URL('/api/v1/report', withHistory.url), { headers });
      expect((await json(report)).days).toHaveLength(1);
    } finally {
      await withHistory.close();
    }
  });

  it('serves Prometheus metrics at /metrics', async () => {
    const response = await get('/metrics');
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(await response.text()).toContain('tunnelmux_failovers_total 0');
  });
});

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document, and every answer validates against it', async () => {
    const document = await json(get('/api/v1/openapi.json'));
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);

    const checker = openApiChecker(document);
    const check = (path: string, method: string, status: number, body: unknown) =>
      expect(checker.errors(path, method, status, body), `${method} ${path} ${status}`).toEqual([]);
    check('/api/v1/status', 'get', 200, await json(get('/api/v1/status')));
    check('/api/v1/services/{service}/paths', 'get', 200, await json(get('/api/v1/services/default/paths')));
    check('/api/v1/services/{service}/paths', 'get', 404, await json(get('/api/v1/services/nope/paths')));
    check(
      '/api/v1/services/{service}/primary',
      'post',
      200,
      await json(post('/api/v1/services/default/primary', { id: 'b' })),
    );
    check(
      '/api/v1/services/{service}/primary',
      'post',
      400,
      await json(post('/api/v1/services/default/primary', { id: [] })),
    );
    check(
      '/api/v1/services/{service}/failover',
      'post',
      200,
      await json(post('/api/v1/services/default/failover', {})),
    );
    check(
      '/api/v1/services/{service}/paths/{id}/restart',
      'post',
      200,
      await json(post('/api/v1/services/default/paths/a/restart', {})),
    );
    check('/api/v1/history', 'get', 501, await json(get('/api/v1/history')));
    check('/api/v1/status', 'get', 401, await json(get('/api/v1/status', {})));

    // A schema that accepted anything would prove nothing: a broken answer must fail.
    expect(
      checker.component('Status', { services: [{ name: 'default', paths: [{ id: 'a' }] }] }),
    ).not.toEqual([]);
  });
});
