import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { writeFaults } from '@tunnelmux/testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The CLI's own end-to-end harness: the built `tunnelmux`, a throwaway folder, `up --json` and its ready line.
import {
  cli,
  connectTo,
  eventually,
  LOCAL_PLUGIN,
  type Running,
  startUp,
  testdir,
} from '../../../cli/src/e2e/harness';
import { launchBrowser } from '../test/browser';
import { openEvents, raw } from '../test/http';
import { openApiChecker } from '../test/openapi';

// A secret in the config: path "d"'s tool prints it when it refuses it, so it reaches logs, errors and lastError
// unless redacted. No answer of the dashboard may carry it.
const CANARY = 'canary-7f3a9c1e-do-not-show';
const SCREENSHOT = process.env.TUNNELMUX_SCREENSHOT
  ? path.resolve(process.env.TUNNELMUX_SCREENSHOT)
  : path.join(os.tmpdir(), `tunnelmux-dashboard-${process.pid}.png`);

type PathStatus = { id: string; state: string; primary: boolean; pid?: number; lastError?: string };
type Status = { primary?: string; pinned?: string; paths: PathStatus[] };

describe('the dashboard of a real `tunnelmux up`, in chromium', () => {
  let target: BannerServer;
  let work: ReturnType<typeof testdir>;
  let up: Running;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let open: string;
  let base: URL;
  let token: string;
  const clients: net.Socket[] = [];
  const run = (...args: string[]) => cli(args, { cwd: work.dir, env: work.env });
  const status = async () => JSON.parse((await run('status', '--json')).stdout) as Status;

  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-dashboard-e2e\r\n');
    work = testdir();
    const faults = path.join(work.dir, 'faults-d.json');
    writeFileSync(
      path.join(work.dir, 'tunnelmux.yaml'),
      [
        'name: t',
        'listen: 127.0.0.1:0',
        `target: 127.0.0.1:${target.port}`,
        'protocol: ssh',
        `plugins: [${JSON.stringify(LOCAL_PLUGIN)}]`,
        'failover: { interval: 300ms, timeout: 5s, maxLatency: 5s, fall: 2, rise: 2, minDwell: 500ms }',
        'dashboard: { listen: 127.0.0.1:0 }',
        'paths:',
        `  - { id: a, provider: local, priority: 1, options: { secret: ${CANARY} } }`,
        '  - { id: b, provider: local, priority: 2 }',
        '  - { id: c, provider: local, priority: 3 }',
        `  - { id: d, provider: local, priority: 4, options: { secret: ${CANARY}, faultFile: ${JSON.stringify(faults)} } }`,
      ].join('\n'),
    );
    writeFaults(faults, { startup: 'auth' });
    [up, browser] = await Promise.all([startUp(work.dir, work.env), launchBrowser()]);
    open = String((up.ready as unknown as { dashboard: string }).dashboard);
    base = new URL(open);
    token = base.searchParams.get('token') ?? '';
    expect(
      await eventually(async () => {
        const paths = (await status()).paths;
        return ['a', 'b', 'c'].every((id) => paths.find((p) => p.id === id)?.state === 'connected');
      }, 20_000),
    ).toBe(true);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await browser?.close();
    up?.process.kill('SIGTERM');
    await up?.process;
    await target?.close();
    work?.cleanup();
  });

  it('prints the address with its token, and `tunnelmux dashboard` gives the same', async () => {
    expect(open).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);
    const asked = await run('dashboard', '--json');
    expect(asked.exitCode).toBe(0);
    expect(JSON.parse(asked.stdout)).toEqual({ url: `${base.origin}/`, open });
  });

  it('shows every path once opened with the token, and takes the token out of the address bar', async () => {
    const response = await page.goto(open);
    expect(response?.status()).toBe(200);
    for (const id of ['a', 'b', 'c', 'd']) await page.waitForSelector(`[data-path="${id}"]`);
    await page.waitForSelector('[data-path="a"][data-primary="true"]');
    await page.waitForSelector('[data-path="d"][data-state="failed"]');
    await page.waitForSelector('#live.on');
    expect(page.url()).toBe(`${base.origin}/`);
    const cookies = await context.cookies();
    expect(cookies).toEqual([
      expect.objectContaining({ value: token, httpOnly: true, sameSite: 'Strict', path: '/' }),
    ]);
    // The failed path's last error is shown in words, with its secret redacted.
    const error = await page.textContent('[data-path="d"] [data-role="last-error"]');
    expect(error).toContain('authentication failed');
    expect(error).not.toContain(CANARY);
  });

  it('refuses the page and the API without the token, or with a wrong one', async () => {
    const stranger = await browser.newContext();
    try {
      const bare = await stranger.newPage();
      const none = await bare.goto(`${base.origin}/`);
      expect(none?.status()).toBe(401);
      expect(await bare.textContent('body')).toContain('unauthorized');
      const wrong = await bare.goto(`${base.origin}/?token=${'x'.repeat(43)}`);
      expect(wrong?.status()).toBe(401);
      expect(await stranger.cookies()).toEqual([]);
      const api = await stranger.request.get(`${base.origin}/api/v1/status`);
      expect(api.status()).toBe(401);
      expect((await api.json()).error.code).toBe('ERR_UNAUTHORIZED');
      const badBearer = await stranger.request.get(`${base.origin}/api/v1/status`, {
        headers: { authorization: `Bearer ${'x'.repeat(43)}` },
      });
      expect(badBearer.status()).toBe(401);
    } finally {
      await stranger.close();
    }
  });

  it('refuses a rebound DNS name and a POST from another origin, even with the cookie', async () => {
    // evil.test resolves to 127.0.0.1 in this browser: a DNS-rebinding page reaching the dashboard's port.
    const rebound = await page.goto(`http://evil.test:${base.port}/?token=${token}`);
    expect(rebound?.status()).toBe(403);
    expect(await page.textContent('body')).toContain('ERR_HOST');
    // Another port of 127.0.0.1 is the same site, so the SameSite cookie goes along: the Origin check refuses.
    const evil = await serveEvilPage(
      `fetch(${JSON.stringify(`${base.origin}/api/v1/services/default/primary`)}, { method: 'POST', ` +
        "mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, " +
        "body: JSON.stringify({ id: 'c' }) }).finally(() => { document.title = 'sent'; });",
    );
    try {
      await page.goto(open);
      const sent = page.waitForEvent('request', (r) => r.url().endsWith('/api/v1/services/default/primary'));
      await page.goto(`http://127.0.0.1:${(evil.address() as net.AddressInfo).port}/`);
      // The request left the browser; its answer is not even readable there (CORP), and it changed nothing.
      expect((await sent).method()).toBe('POST');
      await page.waitForFunction(() => document.title === 'sent');
      expect(await status()).toMatchObject({ primary: 'a' });
      expect((await status()).pinned).toBeUndefined();
    } finally {
      evil.close();
    }
  });

  it('answers, in a real instance, as its OpenAPI document says, with no secret in any answer', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const get = async (p: string) => {
      const response = await raw(base.origin, { path: p, headers });
      return { status: response.status, text: response.body };
    };
    const document = JSON.parse((await get('/api/v1/openapi.json')).text);
    const checker = openApiChecker(document);
    const answers: Record<string, { status: number; text: string }> = {
      '/api/v1/status': await get('/api/v1/status'),
      '/api/v1/services/{service}/paths': await get('/api/v1/services/default/paths'),
      '/api/v1/history': await get('/api/v1/history'),
    };
    expect(answers['/api/v1/status']?.status).toBe(200);
    for (const [p, answer] of Object.entries(answers))
      expect(checker.errors(p, 'get', answer.status, JSON.parse(answer.text)), p).toEqual([]);
    const missing = await get('/api/v1/services/nope/paths');
    expect(checker.errors('/api/v1/services/{service}/paths', 'get', 404, JSON.parse(missing.text))).toEqual(
      [],
    );

    const events = await openEvents(base.origin, token, { query: '?recent=2048' });
    await events.until(
      (m) => m.some((x) => x.data.includes('authentication failed')),
      'the refused credential',
    );
    events.close();
    const texts = [
      ...Object.values(answers).map((a) => a.text),
      (await get('/metrics')).text,
      (await get('/')).text,
      (await run('dashboard', '--json')).stdout,
      ...events.messages.map((m) => m.data),
    ];
    expect(texts.join('\n')).toContain('authentication failed');
    for (const text of texts) expect(text).not.toContain(CANARY);
  });

  it('makes another path primary on a click (confirmed), and `tunnelmux status --json` agrees', async () => {
    await page.goto(`${base.origin}/`);
    await page.waitForSelector('[data-path="c"][data-state="connected"]');
    await page.click('[data-path="c"] [data-action="make-primary"]');
    await page.waitForSelector('#confirm[open]');
    await page.click('#confirm-ok');
    await page.waitForSelector('[data-path="c"][data-primary="true"]');
    expect(await page.getAttribute('[data-path="a"]', 'data-primary')).toBe('false');
    expect(await status()).toMatchObject({ primary: 'c', pinned: 'c' });
    // Back to the configured order, through the keyboard: focus the button, Enter, then confirm.
    await page.focus('button[aria-label="Clear the pinned primary of service default"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm[open]');
    await page.focus('#confirm-ok');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-path="a"][data-primary="true"]');
    expect((await status()).pinned).toBeUndefined();
  });

  it('shows the failover within 2 s of the primary’s process being killed', async () => {
    await page.goto(`${base.origin}/`);
    await page.waitForSelector('[data-path="a"][data-primary="true"]');
    // Some traffic and some probe history, so the figures and charts have something to show.
    for (let i = 0; i < 3; i++) clients.push(await connectTo(String(up.ready.listen)));
    const probes = await openEvents(base.origin, token, { query: '?types=probe' });
    await probes.until((m) => m.filter((x) => x.id).length >= 45, 'fifteen probes of each path', 20_000);
    probes.close();
    const primary = (await status()).paths.find((p) => p.primary);
    expect(primary?.pid).toBeGreaterThan(0);
    process.kill(primary?.pid ?? 0, 'SIGKILL');
    await page.waitForSelector(
      `[data-path="${primary?.id}"][data-primary="false"]:not([data-state="connected"])`,
      {
        timeout: 2000,
      },
    );
    await page.waitForSelector('[data-path="b"][data-primary="true"]', { timeout: 2000 });
    await page.waitForSelector('#timeline li[data-type="failover"]', { timeout: 2000 });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    if (!process.env.TUNNELMUX_SCREENSHOT) rmSync(SCREENSHOT, { force: true });
  });
});

function serveEvilPage(script: string): Promise<Server> {
  const server = createServer((_request, response) => {
    response.setHeader('Content-Type', 'text/html');
    response.end(`<!doctype html><title>evil</title><script>${script}</script>`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
