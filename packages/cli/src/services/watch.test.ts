import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchConfig } from './watch';

describe('watchConfig', () => {
  const dirs: string[] = [];
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const setup = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-watch-'));
    dirs.push(dir);
    const file = path.join(dir, 'tunnelmux.yaml');
    writeFileSync(file, 'a: 1\n');
    let calls = 0;
    const watcher = watchConfig(file, () => calls++, { debounceMs: 200 });
    closers.push(() => watcher.close());
    return { dir, file, calls: () => calls };
  };

  it('gives one call for a burst of 20 writes', async () => {
    const { file, calls } = setup();
    for (let i = 0; i < 20; i++) writeFileSync(file, `a: ${i}\n`);
    await expect.poll(calls, { timeout: 5000 }).toBe(1);
    // Still one once the quiet period has passed again: the burst was not split.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(calls()).toBe(1);
  });

  it('survives an editor that saves by rename, and sees the next save too', async () => {
    const { dir, file, calls } = setup();
    writeFileSync(path.join(dir, '.tunnelmux.yaml.swp'), 'a: 2\n');
    renameSync(path.join(dir, '.tunnelmux.yaml.swp'), file);
    await expect.poll(calls, { timeout: 5000 }).toBe(1);
    writeFileSync(file, 'a: 3\n');
    await expect.poll(calls, { timeout: 5000 }).toBe(2);
  });

  it('ignores other files in the folder', async () => {
    const { dir, file, calls } = setup();
    writeFileSync(path.join(dir, 'other.txt'), 'x');
    writeFileSync(file, 'a: 4\n');
    await expect.poll(calls, { timeout: 5000 }).toBe(1);
    writeFileSync(path.join(dir, 'other.txt'), 'y');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(calls()).toBe(1);
  });
});
