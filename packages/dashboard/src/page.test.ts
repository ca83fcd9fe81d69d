import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadPage, pageDir } from './page';

const BUDGET = 150 * 1024;

describe('the page', () => {
  it(`weighs at most ${BUDGET / 1024} KiB gzipped, every asset counted`, () => {
    const files = readdirSync(pageDir());
    const sizes = files.map(
      (name) => gzipSync(readFileSync(path.join(pageDir(), name)), { level: 9 }).length,
    );
    const total = sizes.reduce((a, b) => a + b, 0);
    console.log(`dashboard page: ${files.length} files, ${total} bytes gzipped (${files.join(', ')})`);
    expect(files).toEqual(expect.arrayContaining(['index.html', 'app.js', 'app.css']));
    expect(total).toBeLessThanOrEqual(BUDGET);
  });

  it('loads nothing from elsewhere: every src and href is this server’s own', () => {
    const { index, assets } = loadPage();
    const texts = [index, ...[...assets.values()].map((a) => Buffer.from(a.body).toString('utf8'))];
    for (const text of texts) {
      expect(text).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
      expect(text).not.toMatch(/\bimport\s*\(?\s*["'](?:https?:)?\/\//);
    }
    for (const reference of index.matchAll(/(?:src|href)="([^"]+)"/g))
      expect(reference[1], reference[1]).toMatch(/^\/assets\/[\w.-]+$/);
  });
});
