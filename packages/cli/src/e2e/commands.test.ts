import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, LOCAL_PLUGIN, localConfig, testdir } from './harness';

describe('bad configs through the binary', () => {
  const work = testdir();
  afterAll(() => work.cleanup());
  const cases: [string, string, RegExp][] = [
    [
      'a bad duration',
      'target: h:22\nfailover: { interval: soon }\npaths: [{ id: a, provider: ssh }]\n',
      /^tunnelmux\.yaml:2:23: failover\.interval must be a duration such as 500ms, 2s or 1m .*got "soon" \(string\)$/m,
    ],
    [
      'a bad target',
      'target: nohost\npaths: [{ id: a, provider: ssh }]\n',
      /^tunnelmux\.yaml:1:9: target must be host:port .*got "nohost" \(string\)$/m,
    ],
    [
      'an unknown field',
      'target: h:22\nlisten_port: 2\npaths: [{ id: a, provider: ssh }]\n',
      /^tunnelmux\.yaml:2:1: listen_port is not a known field; expected one of /m,
    ],
    [
      'no paths',
      'target: h:22\npaths: []\n',
      /^tunnelmux\.yaml:2:8: paths must list at least one path, got a list of 0$/m,
    ],
    [
      'a bad path id',
      'target: h:22\npaths: [{ id: "a b", provider: ssh }]\n',
      /^tunnelmux\.yaml:2:15: paths\.0\.id must be letters, digits/m,
    ],
    ['broken YAML', 'target: h:22\npaths: [{ id: a\n', /^tunnelmux\.yaml:\d+:\d+: is not valid YAML/m],
  ];
  for (const [what, text, expected] of cases) {
    it(`exits 2 naming the line for ${what}`, async () => {
      writeFileSync(path.join(work.dir, 'tunnelmux.yaml'), text);
      const result = await cli(['up'], { cwd: work.dir, env: work.env });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(expected);
    });
  }

  it('exits 2 with a provider option error pointing into the options', async () => {
    writeFileSync(
      path.join(work.dir, 'bad-option.yaml'),
      `target: 127.0.0.1:9\nplugins: [${JSON.stringify(LOCAL_PLUGIN)}]\npaths:\n  - id: a\n    provider: local\n    options:\n      readyTimeoutMs: 5\n`,
    );
    const result = await cli(['up', '--config', 'bad-option.yaml'], { cwd: work.dir, env: work.env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^bad-option\.yaml:7:23: \[local\] path "a": option "readyTimeoutMs"/m);
  });

  it('exits 2 when there is no config, and says how to make one', async () => {
    const empty = testdir();
    const result = await cli(['status', '--json'], { cwd: empty.dir, env: empty.env });
    const up = await cli(['up'], { cwd: empty.dir, env: empty.env });
    empty.cleanup();
    expect(result.exitCode).toBe(1);
    expect(up.exitCode).toBe(2);
    expect(up.stderr).toContain('run `tunnelmux init`');
  });

  it('exits 2 for an unknown command or option', async () => {
    expect((await cli(['frobnicate'], { cwd: work.dir, env: work.env })).exitCode).toBe(2);
    expect((await cli(['status', '--nope'], { cwd: work.dir, env: work.env })).exitCode).toBe(2);
  });
});

describe('doctor, providers, init and help', () => {
  let target: BannerServer;
  let busy: net.Server;
  let work: ReturnType<typeof testdir>;
  beforeAll(async () => {
    target = await startBannerServer();
    busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    work = testdir();
  });
  afterAll(async () => {
    busy.close();
    await target.close();
    work.cleanup();
  });

  it('doctor passes a good config and says so', async () => {
    writeFileSync(path.join(work.dir, 'tunnelmux.yaml'), localConfig(target, ['a', 'b']));
    const result = await cli(['doctor'], { cwd: work.dir, env: work.env });
    const out = result.stdout;
    expect(out, result.stderr).toContain('✓ config:');
    expect(out, out).toContain('✓ provider local:');
    expect(out, out).toMatch(/✓ tool local: .*forwarder/);
    expect(out, out).toContain('✓ listen: 127.0.0.1:0 is free');
    expect(out, out).toContain('all good');
    expect(result.exitCode).toBe(0);
  });

  it('doctor names each problem with its fix', async () => {
    const port = (busy.address() as net.AddressInfo).port;
    const text = localConfig(target, ['a'])
      .replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${port}`)
      .concat('\n  - { id: cf, provider: cloudflare }\n');
    writeFileSync(path.join(work.dir, 'tunnelmux.yaml'), text);
    const result = await cli(['doctor', '--json'], { cwd: work.dir, env: work.env });
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      checks: { check: string; ok: boolean; detail: string; fix?: string }[];
    };
    expect(report.ok).toBe(false);
    const cf = report.checks.find((c) => c.check === 'provider cloudflare')!;
    expect(cf.ok).toBe(false);
    expect(cf.detail).toContain('provider "cloudflare" is not installed; looked in');
    expect(cf.fix).toContain('npm install @tunnelmux/provider-cloudflare');
    const listen = report.checks.find((c) => c.check === 'listen')!;
    expect(listen).toMatchObject({ ok: false, detail: `127.0.0.1:${port} is not free: EADDRINUSE` });
    expect(listen.fix).toContain('--listen');
    expect(report.checks.find((c) => c.check === 'provider local')?.ok).toBe(true);
  });

  it('doctor exits 2 for an invalid config and shows the line', async () => {
    writeFileSync(path.join(work.dir, 'tunnelmux.yaml'), 'target: x\npaths: [{ id: a, provider: ssh }]\n');
    const result = await cli(['doctor'], { cwd: work.dir, env: work.env });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/✗ config: tunnelmux\.yaml:1:9: target must be host:port/);
  });

  it('providers lists packages from their manifests, beside the config and in the user folder', async () => {
    const project = testdir();
    const pkg = (dir: string, name: string, id: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify({
          name,
          version: '2.0.0',
          keywords: ['tunnelmux-provider'],
          tunnelmux: { apiVersion: 1, provider: id },
        }),
      );
      // Listing must never import a provider: this one would crash if it were.
      writeFileSync(path.join(dir, 'index.js'), 'throw new Error("imported");\n');
    };
    pkg(
      path.join(project.dir, 'node_modules', 'tunnelmux-provider-alpha'),
      'tunnelmux-provider-alpha',
      'alpha',
    );
    pkg(
      path.join(project.dir, 'home', 'plugins', 'node_modules', '@acme', 'tunnelmux-provider-beta'),
      '@acme/tunnelmux-provider-beta',
      'beta',
    );
    writeFileSync(
      path.join(project.dir, 'tunnelmux.yaml'),
      'target: h:22\npaths: [{ id: a, provider: alpha }]\n',
    );
    const result = await cli(['providers', '--json'], { cwd: project.dir, env: project.env });
    project.cleanup();
    expect(result.exitCode).toBe(0);
    const listing = JSON.parse(result.stdout) as {
      providers: { id: string; source: string; package: string; version: string }[];
    };
    expect(listing.providers).toEqual([
      expect.objectContaining({
        id: 'alpha',
        source: 'project',
        package: 'tunnelmux-provider-alpha',
        version: '2.0.0',
      }),
      expect.objectContaining({ id: 'beta', source: 'user', package: '@acme/tunnelmux-provider-beta' }),
    ]);
  });

  it('init --yes writes a config that loads', async () => {
    const fresh = testdir();
    const result = await cli(['init', '--yes'], { cwd: fresh.dir, env: fresh.env });
    expect(result.exitCode).toBe(0);
    const again = await cli(['init', '--yes'], { cwd: fresh.dir, env: fresh.env });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('already exists; pass --force');
    const doctor = await cli(['doctor', '--json'], { cwd: fresh.dir, env: fresh.env });
    fresh.cleanup();
    expect(JSON.parse(doctor.stdout).checks[0]).toMatchObject({ check: 'config', ok: true });
  });

  it('init without a terminal and without --yes is a usage error', async () => {
    const result = await cli(['init', '--config', 'fresh.yaml'], { cwd: work.dir, env: work.env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('pass --yes');
  });

  it('prints its version and help with examples', async () => {
    const version = await cli(['--version'], { cwd: work.dir, env: work.env });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    const help = await cli(['--help'], { cwd: work.dir, env: work.env });
    expect(help.exitCode).toBe(0);
    for (const command of [
      'up',
      'status',
      'metrics',
      'events',
      'primary',
      'failover',
      'doctor',
      'init',
      'demo',
      'plugins',
    ]) {
      expect(help.stdout).toContain(`  ${command}`);
    }
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 runtime failure, 2 usage or config error');
    // `--help` prints the text built with the package; `help` and `-h` render it with commander: the same.
    const live = await cli(['help'], { cwd: work.dir, env: work.env });
    expect(live.exitCode).toBe(0);
    expect(help.stdout).toBe(live.stdout);
    expect((await cli(['-h'], { cwd: work.dir, env: work.env })).stdout).toBe(live.stdout);
  });
});
