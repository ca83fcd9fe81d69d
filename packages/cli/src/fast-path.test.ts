import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from './cli';
import { runFast } from './fast-path';

/** What a call printed on stdout, and what it returned. */
async function capture(call: () => Promise<number | undefined>) {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  try {
    const code = await call();
    return { code, out };
  } finally {
    spy.mockRestore();
  }
}

describe('fast path', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('prints what the full parser prints for plain providers --json and status --json', async () => {
    for (const args of [
      ['providers', '--json'],
      ['status', '--json', '--socket', '/nonexistent/tunnelmux-test.sock'],
    ]) {
      const fast = await capture(() => runFast(args));
      process.exitCode = undefined;
      const full = await capture(() => run(['node', 'tunnelmux', ...args]));
      process.exitCode = undefined;
      expect(fast.code).toBe(full.code);
      expect(fast.out).toBe(full.out);
      expect(fast.out.length).toBeGreaterThan(0);
    }
  });

  it('leaves help, unknown options, --timeout, stray arguments and other commands to the full parser', async () => {
    for (const args of [
      ['status', '--help'],
      ['status', '--bogus'],
      ['status', '--timeout', '5s'],
      ['list', 'extra'],
      ['providers', '--json=yes'],
      ['up'],
      ['constructor'],
      ['--help', 'up'],
      [],
    ]) {
      expect(await runFast(args)).toBeUndefined();
    }
  });

  it('leaves --help to commander where no help text was built beside it (running from source)', async () => {
    expect(await runFast(['--help'])).toBeUndefined();
  });
});
