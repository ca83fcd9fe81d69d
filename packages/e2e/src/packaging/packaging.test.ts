import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BannerServer, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKEN, type BrokenProvider, packBrokenProviders } from './fixtures';
import { npm, registryReachable } from './npm';
import { PACKAGES, type PackageKey, packWorkspacePackage, tarballContents } from './pack';
import { parseJson, run, runOk, startProcess } from './run';

// Users meet tunnelmux as tarballs from a registry: pack every package, install a chosen few into fresh folders,
// and check that the installed CLI finds exactly what was installed, and says why a broken provider is unusable.

interface ProvidersJson {
  providers: Array<{ id: string; package: string; version: string; source: string; tool?: unknown }>;
  skipped: unknown[];
  loadErrors?: Array<{ id: string; message: string }>;
}
interface DoctorJson {
  ok: boolean;
  checks: Array<{ check: string; ok: boolean; detail: string; fix?: string; warning?: boolean }>;
}

const KEYS = Object.keys(PACKAGES) as PackageKey[];

/** Every string inside a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** The records of a JSON report (every element of every list in it) that are about `broken`. */
function recordsAbout(report: unknown, broken: BrokenProvider): unknown[] {
  const lists = Object.values(report as Record<string, unknown>).filter(Array.isArray) as unknown[][];
  return lists
    .flat()
    .filter((record) =>
      strings(record).some(
        (text) =>
          text.includes(broken.packageName) ||
          text === broken.id ||
          text.includes(`"${broken.id}"`) ||
          text === `provider ${broken.id}`,
      ),
    );
}

/** The sentence in a report that gives the reason `broken` is unusable, if there is one. */
function reasonFor(report: unknown, broken: BrokenProvider): string | undefined {
  return recordsAbout(report, broken)
    .flatMap(strings)
    .find((text) => broken.reason.test(text));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Read the first bytes a TCP server sends, bounded. */
function firstBytes(port: number, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no bytes from 127.0.0.1:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(chunk.toString('latin1'));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe('packaging: install only what you need, from tarballs', () => {
  let work: string;
  const tarballs = {} as Record<PackageKey, string>;

  /** A fresh folder under the test's temp root. */
  const folder = async (name: string) => {
    const dir = path.join(work, name);
    await mkdir(dir, { recursive: true });
    return dir;
  };

  /** An environment whose user plugin folder, data and runtime dirs are all private to one scenario. */
  const isolated = async (name: string): Promise<NodeJS.ProcessEnv> => {
    const home = await folder(`${name}-home`);
    const runtime = await folder(`${name}-run`);
    return {
      TUNNELMUX_HOME: home,
      XDG_DATA_HOME: path.join(home, 'data'),
      XDG_CONFIG_HOME: path.join(home, 'config'),
      XDG_RUNTIME_DIR: runtime,
    };
  };

  /** A new npm project folder with its own package.json. */
  const project = async (name: string) => {
    const dir = await folder(name);
    await writeFile(path.join(dir, 'package.json'), `${JSON.stringify({ name, private: true }, null, 2)}\n`);
    return dir;
  };

  const providerIds = (report: ProvidersJson) => report.providers.map((p) => p.id).sort();

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tunnelmux-packaging-'));
    // Ask the registry while packing; every install awaits the answer, so a registry fault fails in seconds.
    registryReachable(work).catch(() => {});
    const dest = await folder('tarballs');
    for (const key of KEYS) tarballs[key] = await packWorkspacePackage(key, dest);
  }, 120_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe('every tarball is publishable', () => {
    it.each(KEYS)(
      '%s ships its manifest, LICENSE, README, types and entry files, with no workspace: ranges',
      async (key) => {
        const { files, manifest } = await tarballContents(tarballs[key]);
        expect(files).toContain('package.json');
        expect(files, 'LICENSE').toContain('LICENSE');
        expect(files, 'README.md').toContain('README.md');
        expect((manifest.exports as Record<string, unknown>)['./package.json']).toBe('./package.json');
        expect(manifest.types, 'a "types" entry').toMatch(/\.d\.ts$/);
        expect(files).toContain(path.posix.normalize(manifest.types as string));
        expect(JSON.stringify(manifest)).not.toContain('workspace:');
        // Nothing but the build output and the package's own documents.
        for (const file of files)
          expect(file).toMatch(
            /^(?:dist\/|schema\/|page\/|package\.json$|LICENSE$|README\.md$|CHANGELOG\.md$)/,
          );
      },
    );

    it('provider tarballs carry the discovery manifest and a peer range on core', async () => {
      for (const key of ['cloudflare', 'ngrok', 'socat'] as const) {
        const { manifest } = await tarballContents(tarballs[key]);
        expect(manifest.keywords, key).toContain('tunnelmux-provider');
        expect(manifest.tunnelmux, key).toMatchObject({ apiVersion: 1, provider: key });
        expect((manifest.peerDependencies as Record<string, string>)['@tunnelmux/core'], key).toBe('^0.1.0');
        expect(manifest.dependencies as Record<string, string> | undefined, key).not.toHaveProperty(
          '@tunnelmux/core',
        );
      }
    });
  });

  describe('a project that installs the CLI and only cloudflare', () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    const providers = async () =>
      parseJson<ProvidersJson>(
        await runOk(path.join(dir, 'node_modules/.bin/tunnelmux'), ['providers', '--json'], {
          cwd: dir,
          env,
        }),
        'tunnelmux providers --json',
      );

    beforeAll(async () => {
      dir = await project('only-cloudflare');
      env = await isolated('only-cloudflare');
      // Core comes as a tarball too: it is not on the registry yet; everything else comes from the registry.
      await npm(['install', tarballs.cli, tarballs.history, tarballs.core, tarballs.cloudflare], dir);
    }, 180_000);

    it('lists exactly cloudflare', async () => {
      const report = await providers();
      expect(providerIds(report)).toEqual(['cloudflare']);
      expect(report.providers[0]).toMatchObject({
        package: '@tunnelmux/provider-cloudflare',
        version: '0.1.0',
      });
    });

    it('lists ngrok once its tarball is installed', { timeout: 120_000 }, async () => {
      await npm(['install', tarballs.ngrok], dir);
      expect(providerIds(await providers())).toEqual(['cloudflare', 'ngrok']);
    });

    it('forgets ngrok once it is uninstalled', { timeout: 120_000 }, async () => {
      await npm(['uninstall', '@tunnelmux/provider-ngrok'], dir);
      expect(existsSync(path.join(dir, 'node_modules/@tunnelmux/provider-ngrok'))).toBe(false);
      expect(providerIds(await providers())).toEqual(['cloudflare']);
    });
  });

  describe('a global-style install plus `tunnelmux plugins add` of the third-party socat provider', () => {
    let prefix: string;
    let cwd: string;
    let env: NodeJS.ProcessEnv;
    let target: BannerServer;
    let config: string;
    const tunnelmux = (args: string[]) =>
      run(path.join(prefix, 'bin/tunnelmux'), args, { cwd, env, timeoutMs: 120_000 });

    const added = async (packages: string[]) => {
      const result = await tunnelmux(['plugins', 'add', ...packages, '--json']);
      expect(result.code, result.stderr).toBe(0);
    };
    const removed = async (name: string) => {
      const result = await tunnelmux(['plugins', 'remove', name, '--json']);
      expect(result.code, result.stderr).toBe(0);
    };
    const providers = async () =>
      parseJson<ProvidersJson>(await tunnelmux(['providers', '--json']), 'providers --json');

    beforeAll(async () => {
      prefix = await folder('global');
      cwd = await folder('elsewhere');
      env = await isolated('global');
      target = await startBannerServer();
      await npm(['install', '--prefix', prefix, '-g', tarballs.cli, tarballs.history, tarballs.core], cwd);
      config = path.join(cwd, 'tunnelmux.json');
      const listen = await freePort();
      await writeFile(
        config,
        JSON.stringify({
          name: 'packaging',
          listen: `127.0.0.1:${listen}`,
          target: `127.0.0.1:${target.port}`,
          protocol: 'ssh',
          paths: [{ id: 'relay', provider: 'socat', options: { extraAddressOptions: ['nodelay'] } }],
        }),
      );
    }, 180_000);

    afterAll(async () => {
      await target?.close();
    });

    it('finds no provider before any is added', async () => {
      expect(existsSync(path.join(prefix, 'bin/tunnelmux'))).toBe(true);
      const report = parseJson<ProvidersJson>(await tunnelmux(['providers', '--json']), 'providers --json');
      expect(providerIds(report)).toEqual([]);
    });

    it('plugins add cloudflare: exactly cloudflare, from the user plugin folder', {
      timeout: 150_000,
    }, async () => {
      // The core tarball stands in for the registry copy npm would fetch to satisfy the providers' peer dependency.
      await added([tarballs.cloudflare, tarballs.core]);
      const report = await providers();
      expect(providerIds(report)).toEqual(['cloudflare']);
      expect(report.providers[0]).toMatchObject({
        package: '@tunnelmux/provider-cloudflare',
        source: 'user',
      });
    });

    it('plugins add ngrok: it appears; plugins remove: it is gone', { timeout: 150_000 }, async () => {
      await added([tarballs.ngrok]);
      expect(providerIds(await providers())).toEqual(['cloudflare', 'ngrok']);
      await removed('@tunnelmux/provider-ngrok');
      expect(providerIds(await providers())).toEqual(['cloudflare']);
    });

    it('plugins add the third-party socat provider from its tarball', { timeout: 150_000 }, async () => {
      await added([tarballs.socat]);
      const list = parseJson<{ dir: string; plugins: Array<{ package: string; id?: string }> }>(
        await tunnelmux(['plugins', 'list', '--json']),
        'plugins list --json',
      );
      expect(list.dir.startsWith(env.TUNNELMUX_HOME!)).toBe(true);
      expect(list.plugins.map((p) => [p.package, p.id]).sort()).toEqual([
        ['@tunnelmux/provider-cloudflare', 'cloudflare'],
        ['tunnelmux-provider-socat', 'socat'],
      ]);
      const report = await providers();
      expect(providerIds(report)).toEqual(['cloudflare', 'socat']);
      expect(report.providers.find((p) => p.id === 'socat')).toMatchObject({
        package: 'tunnelmux-provider-socat',
        version: '0.1.0',
        source: 'user',
      });
    });

    it('doctor loads socat and finds its tool', async () => {
      const result = await tunnelmux(['doctor', '--json', '--config', config]);
      const report = parseJson<DoctorJson>(result, 'doctor --json');
      expect(report.checks.find((c) => c.check === 'provider socat')).toMatchObject({ ok: true });
      const tool = report.checks.find((c) => c.check === 'tool socat');
      expect(tool, JSON.stringify(report.checks)).toMatchObject({ ok: true });
      expect(tool?.detail).toMatch(/socat \d+\.\d+/);
      expect(report.ok, JSON.stringify(report.checks)).toBe(true);
      expect(result.code).toBe(0);
    });

    it('up carries a connection through the socat path and leaves no socat behind', {
      timeout: 90_000,
    }, async () => {
      const up = startProcess(path.join(prefix, 'bin/tunnelmux'), ['up', '--json', '--config', config], {
        cwd,
        env,
      });
      try {
        const ready = await up.waitForJson<{
          listen?: string;
          paths: Array<{ id: string; state: string; pid?: number }>;
        }>((line) => line.type === 'ready', 60_000);
        expect(ready.paths).toEqual([
          expect.objectContaining({ id: 'relay', provider: 'socat', state: 'connected' }),
        ]);
        expect(ready.listen, 'the front door address').toMatch(/^127\.0\.0\.1:\d+$/);
        const port = Number(ready.listen!.split(':')[1]);
        expect(await firstBytes(port)).toBe(target.banner);
        const socatPid = ready.paths[0]!.pid!;
        expect(await isAlive(socatPid)).toBe(true);
        expect(await up.stop()).toBe(0);
        expect(await isAlive(socatPid), `socat ${socatPid} outlived tunnelmux up`).toBe(false);
      } finally {
        await up.stop(2000);
      }
    });

    it('up --dashboard says how to install @tunnelmux/dashboard while it is missing', async () => {
      const result = await tunnelmux(['up', '--dashboard', '--config', config]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'the dashboard needs the @tunnelmux/dashboard package, which is not installed; install it beside the CLI',
      );
    });

    it('up --dashboard serves it once installed beside the CLI', { timeout: 150_000 }, async () => {
      // The core tarball stands in for the registry copy npm would fetch for the dashboard's peer dependency.
      await npm(['install', '--prefix', prefix, '-g', tarballs.dashboard, tarballs.core], cwd);
      const up = startProcess(
        path.join(prefix, 'bin/tunnelmux'),
        ['up', '--json', '--dashboard', '--config', config],
        { cwd, env },
      );
      try {
        const ready = await up.waitForJson<{ dashboard?: string }>((line) => line.type === 'ready', 60_000);
        expect(ready.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+$/);
        const open = new URL(String(ready.dashboard));
        const page = await fetch(open, { signal: AbortSignal.timeout(10_000) });
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('/assets/app.js');
        const status = await fetch(new URL('/api/v1/status', open), {
          headers: { authorization: `Bearer ${open.searchParams.get('token')}` },
          signal: AbortSignal.timeout(10_000),
        });
        expect(((await status.json()) as { paths: Array<{ id: string }> }).paths.map((p) => p.id)).toEqual([
          'relay',
        ]);
        expect(await up.stop()).toBe(0);
      } finally {
        await up.stop(2000);
      }
    });

    it('plugins remove takes socat away again', { timeout: 120_000 }, async () => {
      await removed('tunnelmux-provider-socat');
      expect(providerIds(await providers())).toEqual(['cloudflare']);
    });
  });

  describe('broken providers are reported with the reason while cloudflare still works', () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    const tunnelmux = (args: string[]) =>
      run(path.join(dir, 'node_modules/.bin/tunnelmux'), args, { cwd: dir, env, timeoutMs: 120_000 });
    let providersReport: ProvidersJson;
    let doctorReport: DoctorJson;
    let doctorCode: number | null;

    beforeAll(async () => {
      dir = await project('broken');
      env = await isolated('broken');
      const broken = await packBrokenProviders(await folder('broken-src'), await folder('broken-tarballs'));
      // npm refuses the ^9.0.0 peer outright (ERESOLVE); --legacy-peer-deps is how a user gets it installed anyway.
      await npm(
        [
          'install',
          '--legacy-peer-deps',
          tarballs.cli,
          tarballs.history,
          tarballs.core,
          tarballs.cloudflare,
          ...broken,
        ],
        dir,
      );
      await writeFile(
        path.join(dir, 'tunnelmux.json'),
        JSON.stringify({
          target: '127.0.0.1:22',
          protocol: 'ssh',
          paths: [
            { id: 'cf', provider: 'cloudflare', options: { hostname: 'ssh.example.com' } },
            ...BROKEN.map((b) => ({ id: b.id, provider: b.id })),
          ],
        }),
      );
      providersReport = parseJson<ProvidersJson>(
        await tunnelmux(['providers', '--detect', '--json']),
        'providers --detect --json',
      );
      const doctor = await tunnelmux(['doctor', '--json']);
      doctorReport = parseJson<DoctorJson>(doctor, 'doctor --json');
      doctorCode = doctor.code;
    }, 180_000);

    it('providers still loads cloudflare and looks for its tool', () => {
      const cloudflare = providersReport.providers.find((p) => p.id === 'cloudflare');
      expect(cloudflare).toMatchObject({ package: '@tunnelmux/provider-cloudflare' });
      expect(cloudflare?.tool, 'cloudflare was loaded and its detect ran').toBeDefined();
      expect(providersReport.loadErrors?.filter((e) => e.id === 'cloudflare') ?? []).toEqual([]);
    });

    it('doctor still loads cloudflare and fails overall', () => {
      expect(doctorReport.checks.find((c) => c.check === 'provider cloudflare')).toMatchObject({ ok: true });
      expect(doctorReport.ok).toBe(false);
      expect(doctorCode).not.toBe(0);
    });

    describe.each(BROKEN)('a provider that $story ($packageName)', (broken) => {
      it('is reported by providers --detect --json with the reason', () => {
        const reason = reasonFor(providersReport, broken);
        expect(
          reason,
          `no reason for ${broken.packageName} in ${JSON.stringify(recordsAbout(providersReport, broken))}`,
        ).toBeDefined();
      });

      it('is reported by doctor --json with the reason, as a problem', () => {
        const reason = reasonFor(doctorReport, broken);
        expect(
          reason,
          `no reason for ${broken.packageName} in ${JSON.stringify(recordsAbout(doctorReport, broken))}`,
        ).toBeDefined();
        const problems = doctorReport.checks.filter(
          (c) => !c.ok && strings(c).some((text) => broken.reason.test(text)),
        );
        expect(problems.length).toBeGreaterThan(0);
      });
    });
  });
});
