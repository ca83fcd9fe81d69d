import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ancestors, discover } from './discover';
import { coreVersion, formatFailure, loadProviders } from './load';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tmx-discover-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

// A provider package as publishers write it. Its code tags the object the way defineProvider does
// (Symbol.for), so it needs no copy of core where the test puts it.
function providerPackage(
  nodeModules: string,
  name: string,
  id: string,
  extra: {
    keyword?: boolean;
    manifest?: boolean;
    peer?: string;
    apiVersion?: number;
    code?: string;
    exportedName?: string;
  } = {},
): string {
  const dir = path.join(nodeModules, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name,
      version: '1.2.3',
      type: 'module',
      keywords: extra.keyword === false ? [] : ['tunnelmux-provider'],
      ...(extra.manifest === false ? {} : { tunnelmux: { apiVersion: extra.apiVersion ?? 1, provider: id } }),
      peerDependencies: { '@tunnelmux/core': extra.peer ?? '>=0.1.0' },
      exports: { '.': { import: './index.js' }, './package.json': './package.json' },
    }),
  );
  writeFileSync(
    path.join(dir, 'index.js'),
    extra.code ??
      `export default { [Symbol.for('tunnelmux.provider')]: true, apiVersion: 1, name: ${JSON.stringify(extra.exportedName ?? id)},
        summary: 'test', modes: ['access'], access: { options: { '~standard': { version: 1, vendor: 't', validate: (v) => ({ value: v }) } },
        open: async () => { throw new Error('not in this test'); } }, detect: async () => ({ available: true }), open: async () => { throw new Error('not in this test'); } };\n`,
  );
  return dir;
}

describe('discover', () => {
  it('finds packages in order and lets the first find of an id win', () => {
    const project = path.join(root, 'project');
    const user = path.join(root, 'home');
    const cli = path.join(root, 'cli', 'node_modules');
    mkdirSync(project, { recursive: true });
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ dependencies: { 'tunnelmux-provider-x': '1' } }),
    );
    providerPackage(path.join(project, 'node_modules'), 'tunnelmux-provider-x', 'x');
    providerPackage(path.join(project, 'node_modules'), 'left-pad', 'nope');
    providerPackage(path.join(user, 'plugins', 'node_modules'), '@acme/tunnelmux-provider-y', 'y');
    providerPackage(path.join(user, 'plugins', 'node_modules'), '@tunnelmux/provider-x', 'x');
    providerPackage(cli, '@tunnelmux/provider-z', 'z');
    providerPackage(cli, 'tunnelmux-provider-nokeyword', 'w', { keyword: false });

    const found = discover({
      configDir: project,
      cwd: project,
      env: { TUNNELMUX_HOME: user },
      cliDirs: [cli],
    });
    expect([...found.providers.values()].map((c) => `${c.id}:${c.source}:${c.packageName}`)).toEqual([
      'x:project:tunnelmux-provider-x',
      'y:user:@acme/tunnelmux-provider-y',
      'z:cli:@tunnelmux/provider-z',
    ]);
    expect(found.shadowed.map((c) => c.packageName)).toEqual(['@tunnelmux/provider-x']);
    expect(found.skipped.map((s) => s.reason)).toEqual([
      'tunnelmux-provider-nokeyword has no "tunnelmux-provider" keyword in its package.json',
    ]);
    expect(found.looked).toEqual([
      path.join(project, 'package.json'),
      // Then every parent's node_modules, as Node resolves modules.
      ...ancestors(project).map((dir) => path.join(dir, 'node_modules')),
      path.join(user, 'plugins', 'node_modules'),
      cli,
    ]);
    expect(found.providers.get('x')?.foundIn).toBe(path.join(project, 'package.json'));
    expect(found.providers.get('y')?.foundIn).toBe(path.join(user, 'plugins', 'node_modules'));
  });

  it("sees the parents' node_modules of a config in a subfolder, as Node would", () => {
    const repo = path.join(root, 'repo');
    const configDir = path.join(repo, 'ops', 'tunnels');
    mkdirSync(configDir, { recursive: true });
    providerPackage(path.join(repo, 'node_modules'), 'tunnelmux-provider-up', 'up');
    const found = discover({
      configDir,
      cwd: root,
      env: { TUNNELMUX_HOME: path.join(root, 'h') },
      cliDirs: [],
    });
    expect(found.providers.get('up')).toMatchObject({
      source: 'project',
      foundIn: path.join(repo, 'node_modules'),
    });
  });

  it('finds providers in the current folder and its parents without a config', () => {
    const work = path.join(root, 'work', 'sub');
    mkdirSync(work, { recursive: true });
    providerPackage(path.join(root, 'work', 'node_modules'), '@tunnelmux/provider-here', 'here');
    const found = discover({ cwd: work, env: { TUNNELMUX_HOME: path.join(root, 'h') }, cliDirs: [] });
    expect(found.providers.get('here')).toMatchObject({
      source: 'cwd',
      foundIn: path.join(root, 'work', 'node_modules'),
    });
  });

  it('searches the config folder and its parents, then the current folder, then the user folder, then the CLI', () => {
    const configDir = path.join(root, 'a', 'config');
    const cwd = path.join(root, 'b', 'cwd');
    const user = path.join(root, 'home');
    const cli = path.join(root, 'cli', 'node_modules');
    mkdirSync(configDir, { recursive: true });
    mkdirSync(cwd, { recursive: true });
    // The same id in every place: the first place searched wins, the rest are shadowed in order.
    providerPackage(path.join(cli), 'tunnelmux-provider-same', 'same');
    providerPackage(path.join(user, 'plugins', 'node_modules'), '@user/tunnelmux-provider-same', 'same');
    providerPackage(path.join(root, 'b', 'node_modules'), '@cwd/tunnelmux-provider-same', 'same');
    providerPackage(path.join(root, 'a', 'node_modules'), '@config/tunnelmux-provider-same', 'same');
    const found = discover({ configDir, cwd, env: { TUNNELMUX_HOME: user }, cliDirs: [cli] });
    expect(found.providers.get('same')).toMatchObject({
      packageName: '@config/tunnelmux-provider-same',
      source: 'project',
    });
    expect(found.shadowed.map((c) => `${c.packageName}:${c.source}`)).toEqual([
      '@cwd/tunnelmux-provider-same:cwd',
      '@user/tunnelmux-provider-same:user',
      'tunnelmux-provider-same:cli',
    ]);
    // Each folder is read once, even when the config folder and the current folder share parents.
    expect(new Set(found.looked).size).toBe(found.looked.length);
  });

  it('honours XDG_DATA_HOME for the user plugin folder', () => {
    const data = path.join(root, 'xdg');
    providerPackage(path.join(data, 'tunnelmux', 'plugins', 'node_modules'), 'tunnelmux-provider-q', 'q');
    const found = discover({ env: { XDG_DATA_HOME: data }, cliDirs: [] });
    expect(found.providers.get('q')?.source).toBe('user');
  });

  it('imports only the providers asked for, and reports one that fails while the rest load', async () => {
    const cli = path.join(root, 'node_modules');
    providerPackage(cli, 'tunnelmux-provider-good', 'good');
    providerPackage(cli, 'tunnelmux-provider-broken', 'broken', {
      code: 'throw new Error("boom at import");\n',
    });
    providerPackage(cli, 'tunnelmux-provider-never', 'never', {
      code: 'throw new Error("imported when not asked");\n',
    });
    providerPackage(cli, 'tunnelmux-provider-liar', 'liar', { exportedName: 'other' });
    providerPackage(cli, 'tunnelmux-provider-old', 'old', { peer: '^0.0.1' });
    const found = discover({ cliDirs: [cli], env: { TUNNELMUX_HOME: path.join(root, 'h') } });
    const { loaded, failures } = await loadProviders(found, ['good', 'broken', 'liar', 'old', 'missing']);
    expect([...loaded.keys()].sort()).toEqual(['good', 'old']);
    expect(loaded.get('old')?.warnings[0]).toContain(
      `wants @tunnelmux/core ^0.0.1 but ${coreVersion()} is running`,
    );
    expect(loaded.get('good')?.warnings).toEqual([]);
    const byId = Object.fromEntries(failures.map((f) => [f.id, f]));
    expect(byId.broken?.message).toContain('boom at import');
    expect(byId.never).toBeUndefined();
    expect(byId.liar?.message).toContain('its manifest says "liar" but the provider is named "other"');
    expect(byId.missing?.message).toBe('provider "missing" is not installed');
    const text = formatFailure(byId.missing!);
    expect(text).toContain(`looked in: `);
    expect(text).toContain(cli);
    expect(text).toContain('install: npm install @tunnelmux/provider-missing');
    expect(text).toContain('tunnelmux plugins add @tunnelmux/provider-missing');
  });

  it('loads explicit plugin modules from the config and refuses one that is not a provider', async () => {
    writeFileSync(path.join(root, 'not-a-provider.js'), 'export default { name: "fake" };\n');
    const found = discover({
      configDir: root,
      plugins: ['./not-a-provider.js', './absent.js'],
      cliDirs: [],
      env: { TUNNELMUX_HOME: root },
    });
    expect(found.skipped.map((s) => s.reason)).toEqual([
      `plugin "./absent.js" does not exist (resolved from ${root})`,
    ]);
    const { failures } = await loadProviders(found, []);
    expect(failures[0]?.message).toContain('does not export a provider made with defineProvider()');
    expect(failures[0]?.install).toBe('fix or remove "./not-a-provider.js" under plugins: in the config');
  });

  it('refuses a provider speaking another API version', async () => {
    const cli = path.join(root, 'node_modules');
    providerPackage(cli, 'tunnelmux-provider-future', 'future', { apiVersion: 2 });
    const { failures } = await loadProviders(discover({ cliDirs: [cli], env: { TUNNELMUX_HOME: root } }), [
      'future',
    ]);
    expect(failures[0]?.message).toContain('declares provider API 2, this CLI speaks 1');
  });
});

describe('manifest checks without importing', () => {
  it('speaks the same provider API as core', async () => {
    const { API_VERSION } = await import('@tunnelmux/core/provider');
    const { MANIFEST_API_VERSION } = await import('./manifest');
    expect(MANIFEST_API_VERSION).toBe(API_VERSION);
  });

  it('flags an unsupported API version as an error and an unmet core range as a warning', async () => {
    const { manifestProblems } = await import('./manifest');
    const { default: semver } = await import('semver');
    const base = { packageName: 'tunnelmux-provider-x', version: '1.0.0' };
    expect(manifestProblems({ ...base, apiVersion: 2, coreRange: '^0.1.0' }, 1, '0.1.0').error).toContain(
      'declares provider API 2, this CLI speaks 1',
    );
    const old = { ...base, apiVersion: 1, coreRange: '^9.0.0' };
    expect(manifestProblems(old, 1, '0.1.0', semver.satisfies).warnings[0]).toContain(
      'wants @tunnelmux/core ^9.0.0 but 0.1.0 is running',
    );
    // Without semver (the fast path of plain `providers`), the range is left for --detect to check.
    expect(manifestProblems(old, 1, '0.1.0').warnings).toEqual([]);
    expect(
      manifestProblems({ ...base, apiVersion: 1, coreRange: '^0.1.0' }, 1, '0.1.0', semver.satisfies),
    ).toEqual({
      warnings: [],
    });
  });
});
