import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's files, read once at start: index.html and what it loads from /assets/. */
export interface PageAssets {
  index: string;
  assets: Map<string, { body: Uint8Array<ArrayBuffer>; type: string }>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The folder the page ships in: `page/` beside `src/` and `dist/`, so source and build read the same files. */
export function pageDir(): string {
  return fileURLToPath(new URL('../page/', import.meta.url));
}

export function loadPage(dir = pageDir()): PageAssets {
  const assets = new Map<string, { body: Uint8Array<ArrayBuffer>; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) assets.set(name, { body: new Uint8Array(readFileSync(path.join(dir, name))), type });
  }
  return { index: readFileSync(path.join(dir, 'index.html'), 'utf8'), assets };
}
