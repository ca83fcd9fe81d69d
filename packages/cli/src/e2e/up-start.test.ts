import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, cli, localConfig, startUp, testdir } from './harness';

const COUNTING_PLUGIN = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures',
  'counting-provider.js',
);

let target: BannerServer;
let work: ReturnType<typeof testdir>;
beforeEach(async () => {
  target = await startBannerServer('SSH-2.0-up-start\r\n');
});
afterEach(async () => {
  await target.close();
  work?.cleanup();
});

describe('tunnelmux up, as it starts', () => {
  it('refuses a taken front-door port with one prefix, exit 1, and no provider open', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const config = localConfig(target, ['a', 'b'])
        .replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${port}`)
        .replace(/plugins: \[.*\]/, `plugins: [${JSON.stringify(COUNTING_PLUGIN)}]`);
      work = testdir({ 'tunnelmux.yaml': config });
      const openLog = path.join(work.dir, 'opens.log');
      const result = await cli(['up'], { cwd: work.dir, env: { ...work.env, TMX_OPEN_LOG: openLog } });
      expect(result.exitCode).toBe(1);
      const line = result.stderr.split('\n').find((l) => l.includes('cannot listen'));
      expect(line).toMatch(
        new RegExp(
          `^\\[tunnelmux\\] front door cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`,
        ),
      );
      expect(line?.match(/\[tunnelmux\]/g)).toHaveLength(1);
      expect(result.stdout).not.toContain('opening');
      expect(existsSync(openLog)).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('names a --config that is a directory and exits 2 (not a bare EISDIR, exit 1)', async () => {
    work = testdir({ 'conf/tunnelmux.yaml': localConfig(target, ['a']) });
    const result = await cli(['up', '--config', 'conf'], { cwd: work.dir, env: work.env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      `[tunnelmux] --config ${path.join(work.dir, 'conf')} is a directory, not a config file; pass the file itself: --config ${path.join(work.dir, 'conf', 'tunnelmux.yaml')}`,
    );
  });

  it('refuses a taken metrics port before opening any path', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const config = localConfig(target, ['a']).replace(
        /plugins: \[.*\]/,
        `plugins: [${JSON.stringify(COUNTING_PLUGIN)}]`,
      );
      work = testdir({ 'tunnelmux.yaml': config });
      const openLog = path.join(work.dir, 'opens.log');
      const result = await cli(['up', '--metrics-listen', `127.0.0.1:${port}`], {
        cwd: work.dir,
        env: { ...work.env, TMX_OPEN_LOG: openLog },
      });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`[tunnelmux] cannot serve metrics on 127.0.0.1:${port}: `);
      expect(existsSync(openLog)).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('counts every configured path in the ready line, including one whose provider is missing', async () => {
    work = testdir({
      'tunnelmux.yaml': `${localConfig(target, ['a'])}\n  - { id: cf, provider: cloudflare, priority: 2 }\n`,
    });
    const up = execa(process.execPath, [BIN, 'up'], {
      cwd: work.dir,
      env: work.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      buffer: false,
    });
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`no ready line; stdout: ${seen}`)), 30_000);
        up.stdout?.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          const line = seen.split('\n').find((l) => l.startsWith('ready:'));
          if (line) {
            clearTimeout(timer);
            resolve(line);
          }
        });
        void up.finally(() => reject(new Error(`up exited first; stdout: ${seen}`)));
      });
      expect(ready).toMatch(
        /^ready: [01]\/2 paths up, .*1 not started \(cf: provider "cloudflare" is not installed\)/,
      );
    } finally {
      up.kill('SIGTERM');
      await up;
    }
  });

  it('starts with failover.drainBeforeRestart set in tunnelmux.yaml (documented, once refused by the CLI)', async () => {
    const text = localConfig(target, ['a']).replace(
      'minDwell: 500ms }',
      'minDwell: 500ms, drainBeforeRestart: 5s }',
    );
    expect(text).toContain('drainBeforeRestart: 5s');
    work = testdir({ 'tunnelmux.yaml': text });
    const up = await startUp(work.dir, work.env);
    try {
      expect(up.ready.paths.map((p) => p.id)).toEqual(['a']);
    } finally {
      up.process.kill('SIGTERM');
      await up.process;
    }
  });
});
