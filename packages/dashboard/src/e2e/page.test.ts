import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../server';
import { launchBrowser } from '../test/browser';
import { fakeInstance } from '../test/fake-instance';

// The page against an in-process dashboard whose instance the test drives: streams it can drop, events it emits.
let browser: Browser;
let instance: ReturnType<typeof fakeInstance>;
let dashboard: Dashboard;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  instance = fakeInstance(['a', 'b', 'c']);
  dashboard = await startDashboard({ handlers: instance.handlers });
});
afterEach(async () => {
  await dashboard.close();
});

const timelineTexts = (page: Page) =>
  page.$$eval('#timeline li[data-type="warning"] .text', (items) => items.map((i) => i.textContent ?? ''));

describe('the page, live', () => {
  it('reconnects by itself after the server drops the stream, says so, and loses no event', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const streams: Promise<{ lastEventId?: string }>[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/events'))
        streams.push(request.allHeaders().then((headers) => ({ lastEventId: headers['last-event-id'] })));
    });
    await page.goto(dashboard.open);
    await page.waitForSelector('#live.on');
    // Every text the connection indicator shows, however briefly.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { liveSeen: string[] }).liveSeen = seen;
      const live = document.getElementById('live');
      if (!live) throw new Error('no #live');
      new MutationObserver(() => seen.push(live.textContent ?? '')).observe(live, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    for (const n of [1, 2, 3]) instance.emit({ type: 'warning', message: `w${n}` });
    await page.waitForFunction(() => document.querySelector('#timeline')?.textContent?.includes('w3'));
    dashboard.closeStreams();
    // While the page is cut off (it waits a second before reconnecting).
    for (const n of [4, 5, 6]) instance.emit({ type: 'warning', message: `w${n}` });
    await page.waitForFunction(() => document.querySelector('#timeline')?.textContent?.includes('w6'));
    instance.emit({ type: 'warning', message: 'w7' });
    await page.waitForFunction(() => document.querySelector('#timeline')?.textContent?.includes('w7'));

    const texts = await timelineTexts(page);
    expect([...texts].reverse()).toEqual(
      ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7'].map((w) => `warning — ${w}`),
    );
    const ids = await page.$$eval('#timeline li[data-type="warning"]', (items) =>
      items.map((i) => Number(i.getAttribute('data-id'))).reverse(),
    );
    expect(ids).toEqual(ids.map((_, i) => (ids[0] ?? 0) + i));
    const seen = await page.evaluate(() => (window as unknown as { liveSeen: string[] }).liveSeen);
    expect(seen).toContain('reconnecting…');
    expect(seen.at(-1)).toBe('live');
    // The second stream asked to resume after the last event the first one delivered.
    const asked = await Promise.all(streams);
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(asked[0]?.lastEventId).toBeUndefined();
    expect(Number(asked[1]?.lastEventId)).toBe(ids[2]);
    await context.close();
  });

  it('shows a failover as it happens', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(dashboard.open);
    await page.waitForSelector('[data-path="a"][data-primary="true"]');
    instance.setState('a', 'reconnecting', 'process exited (signal SIGKILL)');
    await page.waitForSelector('[data-path="b"][data-primary="true"]');
    await page.waitForSelector('[data-path="a"][data-state="reconnecting"]');
    expect(await page.textContent('[data-path="a"] [data-role="last-error"]')).toBe(
      'Last error: process exited (signal SIGKILL)',
    );
    expect(await page.textContent('#timeline li[data-type="failover"]')).toContain('failover a → b');
    await context.close();
  });
});

describe('the page, acting', () => {
  it('fails over on "Fail over" once confirmed, and not when cancelled', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
    });
    await page.goto(dashboard.open);
    await page.waitForSelector('[data-path="a"][data-primary="true"]');
    const failOver = 'button[aria-label="Fail over service default to the next connected path"]';
    await page.click(failOver);
    await page.waitForSelector('#confirm[open]');
    await page.click('#confirm-cancel');
    await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
    expect((instance.handlers.status() as { primary?: string }).primary).toBe('a');
    await page.click(failOver);
    await page.click('#confirm-ok');
    await page.waitForSelector('[data-path="b"][data-primary="true"]');
    expect(instance.handlers.status()).toMatchObject({ primary: 'b', pinned: 'b' });
    // One POST: the cancelled confirmation sent none.
    expect(posts).toEqual(['/api/v1/services/default/failover']);
    await context.close();
  });
});

describe('the page, with resume and history', () => {
  it('lists live sessions and their resumes, and availability per day', async () => {
    const sessions = [
      {
        session: '3f2a9c1b',
        client: '127.0.0.1:51234',
        path: 'b',
        attached: true,
        openedAt: Date.now() - 90_000,
        resumes: 2,
        bytesIn: 4096,
        bytesOut: 1024,
      },
    ];
    const withBoth = await startDashboard({
      handlers: fakeInstance(['a', 'b'], { sessions }).handlers,
      history: {
        history: () => ({ events: [] }),
        report: () => ({
          days: [
            { day: '2026-11-29', path: 'a', availability: 0.9991 },
            { day: '2026-11-29', path: 'b', availability: 1 },
          ],
        }),
      },
    });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(withBoth.open);
      const row = await page.waitForSelector('section[data-service="default"] table tbody tr');
      expect(await row.textContent()).toMatch(/3f2a9c1b.*127\.0\.0\.1:51234.*b.*attached.*2/);
      await page.waitForSelector('#availability:not([hidden])');
      expect(await page.textContent('#availability-table tbody')).toContain('99.91%');
      expect(await page.textContent('#availability-table tbody')).toContain('100.00%');
      // Without history (the dashboard of the outer tests) the section stays hidden.
      const plain = await context.newPage();
      const report = plain.waitForResponse((r) => r.url().endsWith('/api/v1/report'));
      await plain.goto(dashboard.open);
      expect((await report).status()).toBe(501);
      await plain.waitForSelector('[data-path="a"]');
      expect(await plain.isHidden('#availability')).toBe(true);
    } finally {
      await context.close();
      await withBoth.close();
    }
  });
});

describe('the page, for everyone', () => {
  it('fits a phone, follows dark mode, and works from the keyboard with labelled buttons', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
      hasTouch: true,
    });
    const page = await context.newPage();
    await page.goto(dashboard.open);
    await page.waitForSelector('[data-path="c"]');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r = 255, g = 255, b = 255] = (background.match(/\d+/g) ?? []).map(Number);
    expect(r + g + b, background).toBeLessThan(150);
    // Every button says what it does.
    const unnamed = await page.$$eval(
      'button',
      (buttons) => buttons.filter((b) => !(b.getAttribute('aria-label') || b.textContent?.trim())).length,
    );
    expect(unnamed).toBe(0);
    // Tab to "Make b primary", open the confirmation with Enter, cancel it with Escape: nothing changes.
    let focused = '';
    for (let i = 0; i < 40 && focused !== 'Make b primary'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
    }
    expect(focused).toBe('Make b primary');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm[open]');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('confirm-cancel');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
    expect((instance.handlers.status() as { primary?: string }).primary).toBe('a');
    // And once more, confirming with the keyboard this time.
    await page.focus('[aria-label="Make b primary"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#confirm[open]');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-path="b"][data-primary="true"]');
    await context.close();
  });
});
