import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../testing/process-state';
import { spawnChild } from './child';

const node = process.execPath;

// The owner processes below run core's TypeScript source, not dist/ (which a source-only change leaves stale):
// Node transforms the types, and this hook resolves the source's extensionless relative imports.
const RESOLVE_TS =
  'data:text/javascript,import{registerHooks}from"node:module";registerHooks({resolve(s,c,n){' +
  'if(/^\\.\\.?\\//.test(s)&&!/\\.[cm]?[jt]s$/.test(s))for(const e of[".ts","/index.ts"])try{return n(s+e,c)}catch{}' +
  'return n(s,c)}});';
const FROM_SOURCE = ['--experimental-transform-types', '--no-warnings', '--import', RESOLVE_TS];
const CORE_SOURCE = new URL('../index.ts', import.meta.url).pathname;

describe('spawnChild', () => {
  it('streams lines, keeps the last ones and reports the exit', async () => {
    const child = spawnChild(
      node,
      ['-e', 'for (let i = 0; i < 100; i++) console.log("line " + i); console.error("bye"); process.exit(3)'],
      process.env,
      {
        keepLines: 5,
      },
    );
    const info = await child.exited;
    expect(info.code).toBe(3);
    expect(info.lastLines).toHaveLength(5);
    expect(info.lastLines).toContain('bye');
  });

  it('waits for a readiness line and rejects if the process exits first', async () => {
    const ready = spawnChild(
      node,
      ['-e', 'console.log("listening on 1"); setInterval(() => {}, 1000)'],
      process.env,
    );
    await expect(ready.waitForLine(/listening on/, { timeoutMs: 10_000 })).resolves.toMatchObject({
      stream: 'stdout',
    });
    expect(ready.ended).toBe(false);
    await ready.stop();
    expect(ready.ended).toBe(true);
    const dies = spawnChild(node, ['-e', 'console.error("bad token"); process.exit(1)'], process.env);
    await expect(dies.waitForLine(/listening/, { timeoutMs: 10_000 })).rejects.toThrow(
      /exited \(code 1\) before printing/,
    );
  });

  it('stops with SIGTERM, then SIGKILL after the grace period', async () => {
    const stubborn = spawnChild(
      node,
      [
        '-e',
        'process.on("SIGTERM", () => console.log("ignoring TERM")); console.log("up"); setInterval(() => {}, 1000)',
      ],
      process.env,
      { killGraceMs: 300 },
    );
    await stubborn.waitForLine(/up/, { timeoutMs: 10_000 });
    const info = await stubborn.stop();
    expect(info.signal).toBe('SIGKILL');
    expect(await isAlive(stubborn.pid!)).toBe(false);
  });

  it('passes secrets by environment and never needs argv for them', async () => {
    const child = spawnChild(node, ['-e', 'console.log(process.env.TOKEN.length)'], process.env, {
      env: { TOKEN: 'abcd' },
    });
    const line = await child.waitForLine(/\d/, { timeoutMs: 10_000 });
    expect(line.text).toBe('4');
    await child.exited;
  });

  it('runs a registered undo when the owning process is SIGKILLed, and not one that was withdrawn', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tunnelmux-undo-'));
    const core = CORE_SOURCE;
    const script = `
      const { createManager, defineProvider } = await import(${JSON.stringify(core)});
      const { PassThrough } = await import('node:stream');
      let secrets;
      const provider = defineProvider({ apiVersion: 1, name: 'pub', summary: 's', expose: {
        options: { '~standard': { version: 1, vendor: 'x', validate: (value) => ({ value }) } },
        async open(_options, ctx) {
          ctx.undoIfOrphaned('/bin/sh', ['-c', 'echo withdrawn > "$OUT/kept"'], { OUT: ${JSON.stringify(dir)} })();
          ctx.undoIfOrphaned('/bin/sh', ['-c', 'echo withdrawn > "$OUT/undone"'], { OUT: ${JSON.stringify(dir)} });
          secrets = await ctx.tempDir();
          return { endpoint: 'x', done: new Promise(() => {}), dial: async () => new PassThrough(), close: async () => {} };
        } } });
      const manager = createManager({ target: '127.0.0.1:9', providers: [provider], metricsInterval: 0 });
      await manager.start({ id: 'a', provider: 'pub', mode: 'expose' });
      console.log(secrets);
      setInterval(() => {}, 1000);`;
    const parent = execa(node, [...FROM_SOURCE, '--input-type=module', '-e', script], {
      reject: false,
      buffer: false,
    });
    const secrets = await new Promise<string>((resolve, reject) => {
      parent.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      parent.nodeChildProcess.once('exit', () => reject(new Error('parent exited early')));
    });
    // The kit's temp folder for secret files is private, and the reaper removes it with the other undos.
    expect((await stat(secrets)).mode & 0o777).toBe(0o700);
    parent.kill('SIGKILL');
    await parent;
    const undone = path.join(dir, 'undone');
    await expect.poll(() => existsSync(undone), { timeout: 5000 }).toBe(true);
    expect(await readFile(undone, 'utf8')).toBe('withdrawn\n');
    expect(existsSync(path.join(dir, 'kept'))).toBe(false);
    await expect.poll(() => existsSync(secrets), { timeout: 5000 }).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });

  it('kills its tunnels when the owning process is SIGKILLed', async () => {
    // A parent that opens a path whose provider spawns a long-lived tool, prints the tool's pid, then idles.
    const core = CORE_SOURCE;
    const script = `
      const { createManager, defineProvider } = await import(${JSON.stringify(core)});
      const { PassThrough } = await import('node:stream');
      const provider = defineProvider({ apiVersion: 1, name: 'sleeper', summary: 's', access: {
        options: { '~standard': { version: 1, vendor: 'x', validate: (value) => ({ value }) } },
        async open(_options, ctx) {
          const child = ctx.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
          return { endpoint: 'x', pid: child.pid, done: child.done, dial: async () => new PassThrough(),
            close: async () => { await child.stop(); } };
        } } });
      const manager = createManager({ target: '127.0.0.1:9', providers: [provider], metricsInterval: 0 });
      await manager.start({ id: 'a', provider: 'sleeper' });
      console.log(manager.status('a').pid);
      setInterval(() => {}, 1000);`;
    const parent = execa(node, [...FROM_SOURCE, '--input-type=module', '-e', script], {
      reject: false,
      buffer: false,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.nodeChildProcess.once('exit', () => reject(new Error('parent exited early')));
    });
    expect(await isAlive(pid)).toBe(true);
    parent.kill('SIGKILL');
    await parent;
    // Generous: the reaper needs about a second (SIGTERM, then SIGKILL); this only catches "never".
    const deadline = Date.now() + 10_000;
    while ((await isAlive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await isAlive(pid), `tunnel pid ${pid} outlived its SIGKILLed owner`).toBe(false);
  });
});
