import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from './server';
import { fakeInstance } from './test/fake-instance';
import { openEvents, raw } from './test/http';

let dashboard: Dashboard;
let dir: string;
let host: string;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-dash-'));
  dashboard = await startDashboard({
    handlers: fakeInstance().handlers,
    tokenFile: path.join(dir, 'default.dashboard-token'),
    limits: { maxStreams: 2 },
  });
  host = `127.0.0.1:${dashboard.address.port}`;
});
afterEach(async () => {
  await dashboard.close();
  rmSync(dir, { recursive: true, force: true });
});

const bearer = () => ({ authorization: `Bearer ${dashboard.token}` });
const cookie = () => ({ cookie: `tunnelmux_dashboard_${dashboard.address.port}=${dashboard.token}` });

describe('the token', () => {
  it('is required by the page, the assets, the API and /metrics', async () => {
    for (const target of ['/', '/assets/app.js', '/api/v1/status', '/api/v1/openapi.json', '/metrics']) {
      const response = await raw(dashboard.url, { path: target });
      expect(response.status, target).toBe(401);
      expect(response.body, target).toContain('unauthorized');
      expect(response.body, target).not.toContain(dashboard.token);
    }
    const api = await raw(dashboard.url, { path: '/api/v1/status' });
    expect(JSON.parse(api.body).error.code).toBe('ERR_UNAUTHORIZED');
  });

  it('refuses a wrong token in the address, the header or the cookie', async () => {
    const wrong = `${dashboard.token.slice(0, -1)}${dashboard.token.endsWith('A') ? 'B' : 'A'}`;
    const page = await raw(dashboard.url, { path: `/?token=${wrong}` });
    expect(page.status).toBe(401);
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(
      (await raw(dashboard.url, { path: '/api/v1/status', headers: { authorization: `Bearer ${wrong}` } }))
        .status,
    ).toBe(401);
    expect(
      (await raw(dashboard.url, { path: '/api/v1/status', headers: { authorization: 'Basic eDp5' } })).status,
    ).toBe(401);
    const badCookie = { cookie: `tunnelmux_dashboard_${dashboard.address.port}=${wrong}` };
    expect((await raw(dashboard.url, { path: '/api/v1/status', headers: badCookie })).status).toBe(401);
    // Cookies are shared by every port of 127.0.0.1: another instance's cookie is not this one's.
    const otherPort = { cookie: `tunnelmux_dashboard_1=${dashboard.token}` };
    expect((await raw(dashboard.url, { path: '/api/v1/status', headers: otherPort })).status).toBe(401);
  });

  it('moves from the address into an HttpOnly, SameSite=Strict cookie that then opens the API', async () => {
    const page = await raw(dashboard.url, { path: `/?token=${dashboard.token}` });
    expect(page.status).toBe(200);
    const set = String(page.headers['set-cookie']);
    expect(set).toContain(`tunnelmux_dashboard_${dashboard.address.port}=${dashboard.token}`);
    expect(set).toContain('HttpOnly');
    expect(set).toContain('SameSite=Strict');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect((await raw(dashboard.url, { path: '/api/v1/status', headers: cookie() })).status).toBe(200);
  });

  it('is stored 0600 in the given file and removed on close', async () => {
    const file = path.join(dir, 'default.dashboard-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await dashboard.close();
    expect(existsSync(file)).toBe(false);
  });
});

describe('Host and Origin', () => {
  it('refuses a Host that is not this dashboard’s, even with the token (DNS rebinding)', async () => {
    for (const forged of [
      'evil.example',
      `evil.example:${dashboard.address.port}`,
      '127.0.0.1:1',
      'a.b.c.127.0.0.1',
    ]) {
      const response = await raw(dashboard.url, {
        path: '/api/v1/status',
        headers: { ...bearer(), host: forged },
      });
      expect(response.status, forged).toBe(403);
      expect(JSON.parse(response.body).error.code).toBe('ERR_HOST');
      const page = await raw(dashboard.url, {
        path: `/?token=${dashboard.token}`,
        headers: { host: forged },
      });
      expect(page.status, forged).toBe(403);
    }
    // No Host at all: Node itself refuses it before the app sees it.
    expect(
      (await raw(dashboard.url, { path: '/api/v1/status', headers: { ...bearer(), host: '' } })).status,
    ).toBe(400);
    const named = await raw(dashboard.url, {
      path: '/api/v1/status',
      headers: { ...bearer(), host: `localhost:${dashboard.address.port}` },
    });
    expect(named.status).toBe(200);
  });

  it('refuses a state-changing request from another origin, or from a browser that sends none', async () => {
    const primary = (headers: Record<string, string>) =>
      raw(dashboard.url, {
        method: 'POST',
        path: '/api/v1/services/default/primary',
        headers: { 'content-type': 'application/json', host, ...headers },
        body: JSON.stringify({ id: 'b' }),
      });
    for (const headers of [
      { ...cookie(), origin: 'http://evil.example' },
      { ...cookie(), origin: `http://localhost:${dashboard.address.port}` },
      { ...cookie(), origin: 'null' },
      { ...cookie() },
      { ...cookie(), origin: `http://${host}`, 'sec-fetch-site': 'cross-site' },
      { ...bearer(), origin: 'http://evil.example' },
    ]) {
      const response = await primary(headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(response.body).error.code).toBe('ERR_ORIGIN');
    }
    expect(
      (await primary({ ...cookie(), origin: `http://${host}`, 'sec-fetch-site': 'same-origin' })).status,
    ).toBe(200);
    // A script with the bearer token is no browser: no Origin needed.
    expect((await primary(bearer())).status).toBe(200);
  });
});

describe('bodies', () => {
  it('takes a state change only as JSON (a form or text/plain POST is refused)', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const response = await raw(dashboard.url, {
        method: 'POST',
        path: '/api/v1/services/default/primary',
        headers: { ...bearer(), 'content-type': type },
        body: JSON.stringify({ id: 'b' }),
      });
      expect(response.status, type).toBe(415);
      expect(JSON.parse(response.body).error).toMatchObject({
        code: 'ERR_BAD_REQUEST',
        message: expect.stringContaining('send the body as JSON'),
      });
    }
  });
});

describe('bounds', () => {
  it('refuses a large body and a large header', async () => {
    const big = await raw(dashboard.url, {
      method: 'POST',
      path: '/api/v1/services/default/primary',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'a', pad: 'x'.repeat(64 * 1024) }),
    });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error.code).toBe('ERR_BODY_TOO_LARGE');
    const header = await raw(dashboard.url, {
      path: '/api/v1/status',
      headers: { ...bearer(), 'x-pad': 'x'.repeat(32 * 1024) },
    });
    expect(header.status).toBe(431);
  });

  it('caps the open event streams and frees a slot when one closes', async () => {
    const first = await openEvents(dashboard.url, dashboard.token);
    const second = await openEvents(dashboard.url, dashboard.token);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await raw(dashboard.url, { path: '/api/v1/events', headers: bearer() });
    expect(third.status).toBe(503);
    expect(JSON.parse(third.body).error).toMatchObject({
      code: 'ERR_BUSY',
      message: expect.stringContaining('2 event streams are open'),
    });
    first.close();
    await expect
      .poll(async () => {
        const again = await openEvents(dashboard.url, dashboard.token);
        again.close();
        return again.status;
      })
      .toBe(200);
    second.close();
  });

  it('holds the cap when many streams open at once', async () => {
    const all = await Promise.all(
      Array.from({ length: 6 }, () => openEvents(dashboard.url, dashboard.token)),
    );
    expect(all.map((s) => s.status).sort()).toEqual([200, 200, 503, 503, 503, 503]);
    for (const stream of all) stream.close();
  });

  it('will not listen beyond loopback unless asked', async () => {
    await expect(
      startDashboard({ handlers: fakeInstance().handlers, listen: { host: '0.0.0.0', port: 0 } }),
    ).rejects.toThrow(/0\.0\.0\.0:0, which other machines can reach.*allowAllInterfaces/);
  });
});
