import { chmodSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, localConfig, type Running, startUp, testdir } from './harness';

// Send raw bytes on the control socket; resolve with the first line of the answer (bounded).
function rawLine(file: string, bytes: string | Buffer): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(file);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(String(bytes).slice(0, 40))} within 10 s`));
    }, 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(JSON.parse(text.slice(0, newline)) as Record<string, unknown>);
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

const canSwitchUser = process.getuid?.() === 0;

// The built CLI, loaded as root and then run as uid 65534: the checkout (and the Node that runs it) may sit in a
// folder another user cannot enter, so the stranger drops its privileges in-process after loading every chunk;
// the control socket then meets a real uid 65534 in the kernel.
const STRANGER = `
  const { readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const dist = process.env.TUNNELMUX_TEST_DIST;
  delete process.env.TUNNELMUX_TEST_DIST;
  // Every code-split chunk (name-HASH.js); the entry points (bin.js, demo-forwarder.js) run when imported.
  for (const file of readdirSync(dist))
    if (/-[A-Z0-9]{8}[.]js$/.test(file)) await import(pathToFileURL(join(dist, file)).href);
  const { run } = await import(pathToFileURL(join(dist, 'index.js')).href);
  // A lazy import('./chunk.js') of a loaded chunk would stat the file again, which the stranger may not do.
  const { registerHooks } = await import('node:module');
  registerHooks({
    resolve: (specifier, context, next) =>
      (specifier.startsWith('./') || specifier.startsWith('../')) && context.parentURL?.startsWith('file:')
        ? { url: new URL(specifier, context.parentURL).href, format: 'module', shortCircuit: true }
        : next(specifier, context),
  });
  process.setgroups([]);
  process.setgid(65534);
  process.setuid(65534);
  process.exitCode = await run(['node', 'tunnelmux', ...process.argv.slice(1)]);
`;

describe('the control socket of a running up, through the built CLI', () => {
  let target: BannerServer;
  let work: ReturnType<typeof testdir>;
  let up: Running;

  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-control-e2e\r\n');
    work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a']) });
    up = await startUp(work.dir, work.env);
  });
  afterAll(async () => {
    up?.process.kill('SIGTERM');
    await up?.process;
    await target?.close();
    work?.cleanup();
  });

  const malformed: [string, string | Buffer][] = [
    ['null', 'null\n'],
    ['a number', '1\n'],
    ['a string', '"x"\n'],
    ['an array', '[]\n'],
    ['an object without id or method', '{}\n'],
    ['an unknown method', '{"id":1,"method":"shutdown"}\n'],
    ['invalid JSON', '{"id":\n'],
    ['binary', Buffer.from([0xff, 0x00, 0xfe, 0x1b, 0x0a])],
    ['a line over 64 KiB', `{"id":1,"method":"${'x'.repeat(70 * 1024)}`],
  ];
  it('answers every malformed line with an error and keeps running', async () => {
    for (const [what, bytes] of malformed) {
      const answer = await rawLine(up.ready.socket, bytes);
      expect(answer, what).toMatchObject({
        ok: false,
        error: { message: expect.stringMatching(/^\[tunnelmux\]/) },
      });
    }
    expect(up.process.nodeChildProcess.exitCode, 'up exited').toBeNull();
    const status = await cli(['status', '--json'], { cwd: work.dir, env: work.env });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ primary: 'a' });
  });

  it('gives up on a stopped (SIGSTOP) up after --timeout and says how to resume it', async () => {
    up.process.kill('SIGSTOP');
    try {
      const status = await cli(['status', '--timeout', '1s'], { cwd: work.dir, env: work.env });
      expect(status.exitCode).toBe(1);
      expect(status.stderr).toContain(`the tunnelmux at ${up.ready.socket} did not answer within 1s`);
      expect(status.stderr).toContain('kill -CONT <pid>');
    } finally {
      up.process.kill('SIGCONT');
    }
    const status = await cli(['status', '--json'], { cwd: work.dir, env: work.env });
    expect(status.exitCode, status.stderr).toBe(0);
  });

  it('is reached from / when it is the only instance running', async () => {
    const status = await cli(['status', '--json'], { cwd: '/', env: work.env });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).paths[0]).toMatchObject({ id: 'a' });
  });

  it.runIf(canSwitchUser)('tells another user permission denied, and whose socket it is', async () => {
    // Let the stranger walk down to the socket's own folder, which `up` keeps at 0700.
    chmodSync(work.dir, 0o755);
    chmodSync(path.join(work.dir, 'run'), 0o755);
    const stranger = (args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }) =>
      execa(process.execPath, ['--input-type=module', '-e', STRANGER, '--', ...args], {
        cwd: '/',
        env: { ...env, NO_COLOR: '1', TUNNELMUX_TEST_DIST: path.dirname(BIN) },
        extendEnv: false,
        reject: false,
        timeout: 30_000,
      });
    const folder = path.dirname(up.ready.socket);
    const bySocket = await stranger(['status', '--socket', up.ready.socket]);
    expect(bySocket.exitCode).toBe(1);
    expect(bySocket.stderr).toContain(
      `[tunnelmux] permission denied: ${up.ready.socket} is inside ${folder}, which belongs to uid 0 (root)`,
    );
    expect(bySocket.stderr).not.toContain('no tunnelmux is running');
    // The same user's environment (XDG_RUNTIME_DIR), as after `sudo -u` with the variables kept.
    const byEnv = await stranger(['status'], {
      PATH: process.env.PATH,
      XDG_RUNTIME_DIR: work.env.XDG_RUNTIME_DIR,
    });
    expect(byEnv.exitCode).toBe(1);
    expect(byEnv.stderr).toMatch(/permission denied: .* which belongs to uid 0 \(root\)/);
    // With the folder open, the socket's own owner is named.
    const mode = statSync(folder).mode & 0o777;
    chmodSync(folder, 0o755);
    try {
      const open = await stranger(['status', '--socket', up.ready.socket]);
      expect(open.exitCode).toBe(1);
      expect(open.stderr).toContain(
        `[tunnelmux] permission denied: the control socket ${up.ready.socket} belongs to uid 0 (root), not to you (uid 65534 (nobody))`,
      );
    } finally {
      chmodSync(folder, mode);
    }
  });
});

describe('up --socket in a shared folder', () => {
  it('exits 2 and says to choose a private folder, without touching the shared one', async () => {
    const target = await startBannerServer();
    const work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a']) });
    const shared = os.tmpdir();
    const before = statSync(shared).mode;
    try {
      const file = path.join(shared, `tmx-e2e-${process.pid}.sock`);
      const result = await cli(['up', '--socket', file], { cwd: work.dir, env: work.env });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`${shared} is a shared folder`);
      expect(result.stderr).toContain('choose a private folder');
      expect(result.stderr).not.toMatch(/chmod|chown/);
      expect(statSync(shared).mode).toBe(before);
    } finally {
      await target.close();
      work.cleanup();
    }
  });
});
