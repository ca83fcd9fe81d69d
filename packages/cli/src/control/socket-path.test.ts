import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir } from './socket-path';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tmx-dir-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const refusal = (dir: string) => {
  try {
    ensurePrivateDir(dir);
  } catch (error) {
    return error as Error & { exitCode?: number };
  }
  throw new Error(`${dir} was accepted`);
};

describe('the control socket folder', () => {
  const shared = [os.tmpdir(), '/tmp', '/var/tmp', '/dev/shm'].filter((dir) => existsSync(dir));
  for (const dir of [...new Set(shared)]) {
    it(`is never a shared system folder such as ${dir}, and the advice never touches it`, () => {
      const before = statSync(dir).mode;
      const error = refusal(dir);
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain(`${dir} is a shared folder`);
      expect(error.message).toMatch(/choose a private folder/);
      expect(error.message).not.toMatch(/chmod|chown|remove|rm /);
      expect(statSync(dir).mode).toBe(before);
    });
  }

  it('is never a world-writable sticky folder of any name', () => {
    const open = path.join(root, 'drop');
    mkdirSync(open);
    chmodSync(open, 0o1777);
    const error = refusal(open);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`${open} is a shared folder (mode 1777`);
    expect(error.message).not.toMatch(/chmod|chown|remove/);
  });

  it('accepts a TMPDIR that is already private to this user', () => {
    const own = path.join(root, 'own-tmp');
    mkdirSync(own, { mode: 0o700 });
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = own;
    try {
      expect(() => ensurePrivateDir(own)).not.toThrow();
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });

  it('suggests a private folder of its own inside the shared one', () => {
    expect(refusal(os.tmpdir()).message).toContain(
      `such as --socket ${path.join(os.tmpdir(), `tunnelmux-${process.getuid?.()}`, 'default.sock')}`,
    );
  });

  it('tells the owner of a folder open to others to chmod it, with exit code 2', () => {
    const mine = path.join(root, 'mine');
    mkdirSync(mine);
    chmodSync(mine, 0o755);
    const error = refusal(mine);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`has mode 755; it must be private (700): chmod 700 ${mine}`);
  });

  it.runIf(process.getuid?.() === 0)(
    "refuses a folder someone else made (an attacker's trap) without telling the user to remove it",
    () => {
      const trap = path.join(root, 'tunnelmux-1000');
      mkdirSync(trap, { mode: 0o700 });
      chownSync(trap, 65534, 65534);
      const error = refusal(trap);
      expect(error.exitCode).toBe(2);
      expect(error.message).toMatch(new RegExp(`${trap} belongs to uid 65534 \\(nobody\\), not to you`));
      expect(error.message).toContain('choose a private folder');
      expect(error.message).not.toMatch(/remove|chmod|chown/);
    },
  );
});
