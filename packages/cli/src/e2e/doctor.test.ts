import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, localConfig, startUp, testdir } from './harness';

// First-party providers loaded the way a user names a local package under `plugins:`.
const packages = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SSH_PROVIDER = path.join(packages, 'provider-ssh');
const CLOUDFLARE_PROVIDER = path.join(packages, 'provider-cloudflare');

type Report = {
  ok: boolean;
  problems: number;
  checks: { check: string; ok: boolean; detail: string; fix?: string; warning?: boolean }[];
};

describe('doctor says what up would fail on', () => {
  let target: BannerServer;
  const work = testdir();
  const run = (args: string[], env: NodeJS.ProcessEnv = work.env) => cli(args, { cwd: work.dir, env });
  const write = (text: string) => writeFileSync(path.join(work.dir, 'tunnelmux.yaml'), text);
  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-doctor\r\n');
  });
  afterAll(async () => {
    await target.close();
    work.cleanup();
  });

  it('counts every problem it lists', async () => {
    write(
      'target: h:22\nprotocl: ssh\nfailover: { interval: soon, fall: 0, openTimeout: 1e30 }\npaths: [{ id: a, provider: ssh }]\n',
    );
    const result = await run(['doctor']);
    expect(result.exitCode).toBe(2);
    expect(result.stdout.match(/^tunnelmux\.yaml:\d+:\d+: /gm)).toHaveLength(3);
    expect(result.stdout).toContain('tunnelmux.yaml:2:1: protocl is not a known field');
    expect(result.stdout).toContain('failover.openTimeout must be at most 1h, got 1e+30 (number)');
    expect(result.stdout.trim().split('\n').at(-1)).toBe('4 problems');
    expect((JSON.parse((await run(['doctor', '--json'])).stdout) as Report).problems).toBe(4);
  });

  it("reports init's placeholder hosts instead of all good", async () => {
    const fresh = testdir();
    try {
      expect((await cli(['init', '--yes'], { cwd: fresh.dir, env: fresh.env })).exitCode).toBe(0);
      const result = await cli(['doctor', '--json'], { cwd: fresh.dir, env: fresh.env });
      expect(result.exitCode).toBe(2);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.checks.filter((c) => c.check === 'placeholder').map((c) => c.detail)).toEqual([
        expect.stringContaining('target is still the placeholder "devbox.example"'),
        expect.stringContaining('paths.0.options.host is still the placeholder "devbox.example"'),
        expect.stringContaining('paths.1.options.hostname is still the placeholder "ssh.example.com"'),
        expect.stringContaining('paths.2.options.host is still the placeholder "jump.example.com"'),
      ]);
    } finally {
      fresh.cleanup();
    }
  });

  it('says a missing identityFile does not exist, in doctor and in up (not "the server refused the key")', async () => {
    const key = path.join(work.dir, 'no_such_key');
    write(
      [
        `target: ${target.host}:${target.port}`,
        `plugins: [${JSON.stringify(SSH_PROVIDER)}]`,
        `paths: [{ id: jump, provider: ssh, options: { host: 127.0.0.1, identityFile: ${JSON.stringify(key)} } }]`,
      ].join('\n'),
    );
    const expected = `option "identityFile": names a private key that cannot be read: the file ${key} does not exist`;
    const doctor = await run(['doctor']);
    expect(doctor.exitCode).toBe(2);
    expect(doctor.stdout).toContain(expected);
    const up = await run(['up']);
    expect(up.exitCode).toBe(2);
    expect(up.stderr).toContain(expected);
    expect(`${doctor.stdout}${up.stderr}`).not.toMatch(/refused|authorized_keys on the jump host, or fix/);
  });

  it('names an unset variable a provider needs (CF_ID, CF_SECRET) without printing any value', async () => {
    write(
      [
        `target: ${target.host}:${target.port}`,
        `plugins: [${JSON.stringify(CLOUDFLARE_PROVIDER)}]`,
        'paths:',
        '  - id: cf',
        '    provider: cloudflare',
        '    options: { hostname: ssh.corp.dev, serviceTokenIdEnv: CF_ID, serviceTokenSecretEnv: CF_SECRET }',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { ...work.env, CF_ID: 'cf-id-visible-only-to-the-provider' };
    delete env.CF_SECRET;
    const result = await run(['doctor', '--json'], env);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.checks.filter((c) => c.check === 'environment')).toEqual([
      expect.objectContaining({
        ok: false,
        detail: expect.stringContaining(
          'path "cf" reads CF_SECRET (option "serviceTokenSecretEnv"), which is not set',
        ),
      }),
    ]);
    expect(report.ok).toBe(false);
    expect(result.stdout).not.toContain('cf-id-visible-only-to-the-provider');
  });

  it('warns (only) about a front door on every interface', async () => {
    write(localConfig(target, ['a']).replace('listen: 127.0.0.1:0', 'listen: 0.0.0.0:0'));
    const result = await run(['doctor', '--json']);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.checks.find((c) => c.check === 'listen' && c.warning)?.detail).toContain(
      'the front door listens on 0.0.0.0:0, every interface',
    );
    expect(report.ok).toBe(true);
    expect(result.exitCode).toBe(0);
  });

  it('all good means up comes up', async () => {
    write(localConfig(target, ['a', 'b']));
    const doctor = await run(['doctor']);
    expect(doctor.stdout.trim().split('\n').at(-1)).toBe('all good');
    expect(doctor.exitCode).toBe(0);
    const up = await startUp(work.dir, work.env);
    try {
      expect(up.ready.paths.map((p) => p.id)).toEqual(['a', 'b']);
      expect(up.ready.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      up.process.kill('SIGTERM');
      await up.process;
    }
  });
});

describe('init --ssh-config', () => {
  it("prints the ~/.ssh/config entry for the config's front door, with HostKeyAlias", async () => {
    const work = testdir({
      'tunnelmux.yaml':
        'listen: 127.0.0.1:2222\ntarget: devbox.internal:22\npaths: [{ id: a, provider: ssh }]\n',
    });
    try {
      const text = await cli(['init', '--ssh-config'], { cwd: work.dir, env: work.env });
      expect(text.exitCode).toBe(0);
      expect(text.stdout).toContain('Host devbox\n  HostName 127.0.0.1\n  Port 2222\n');
      expect(text.stdout).toMatch(/^ {2}HostKeyAlias devbox\.internal$/m);
      const json = await cli(['init', '--ssh-config', '--json'], { cwd: work.dir, env: work.env });
      expect(JSON.parse(json.stdout)).toMatchObject({
        host: 'devbox',
        port: 2222,
        hostKeyAlias: 'devbox.internal',
      });
      writeFileSync(
        path.join(work.dir, 'tunnelmux.yaml'),
        'listen: 0\ntarget: d:22\npaths: [{ id: a, provider: ssh }]\n',
      );
      const any = await cli(['init', '--ssh-config'], { cwd: work.dir, env: work.env });
      expect(any.exitCode).toBe(2);
      expect(any.stderr).toContain('listen uses port 0 (any free port)');
    } finally {
      work.cleanup();
    }
  });
});
