import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSessionKeyFile, writeSessionKeyFile } from './key-file';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tunnelmux-key-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('session key files', () => {
  it('writes a new key with mode 0600 and reads it back', async () => {
    const file = path.join(dir, 'session.key');
    await writeSessionKeyFile(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const key = await readSessionKeyFile(file);
    expect(key.length).toBe(32);
    expect((await readFile(file, 'utf8')).trim()).toBe(key.toString('hex'));
  });

  it('refuses to overwrite an existing file', async () => {
    const file = path.join(dir, 'session.key');
    await writeFile(file, 'keep me');
    await expect(writeSessionKeyFile(file)).rejects.toThrow(/already exists; refusing to overwrite/);
    expect(await readFile(file, 'utf8')).toBe('keep me');
  });

  it('refuses a key file others can read, with the chmod that fixes it', async () => {
    const file = path.join(dir, 'session.key');
    await writeSessionKeyFile(file);
    await chmod(file, 0o644);
    await expect(readSessionKeyFile(file)).rejects.toThrow(`mode 644); fix it with: chmod 600 ${file}`);
  });

  it('refuses content that is not a key without quoting it', async () => {
    const file = path.join(dir, 'session.key');
    await writeFile(file, 'hunter2-not-a-key\n', { mode: 0o600 });
    const error = (await readSessionKeyFile(file).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/does not hold a tunnelmux session key/);
    expect(error.message).not.toContain('hunter2');
  });
});
