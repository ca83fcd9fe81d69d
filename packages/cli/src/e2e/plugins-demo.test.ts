import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, testdir } from './harness';

// A stand-in for npm: records its arguments and installs a provider package the way `npm install --prefix` would.
const FAKE_NPM = `#!/usr/bin/env node
const fs = require('node:fs'), path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_NPM_LOG, JSON.stringify(args) + '\\n');
const prefix = args[args.indexOf('--prefix') + 1];
const names = args.slice(1).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--prefix');
const manifest = path.join(prefix, 'package.json');
const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8'));
for (const name of names) {
  const dir = path.join(prefix, 'node_modules', name);
  if (args[0] === 'install') {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '3.1.4', keywords: ['tunnelmux-provider'], tunnelmux: { apiVersion: 1, provider: name.split('provider-')[1] } }));
    pkg.dependencies[name] = '^3.1.4';
  } else {
    fs.rmSync(dir, { recursive: true, force: true });
    delete pkg.dependencies[name];
  }
}
fs.writeFileSync(manifest, JSON.stringify(pkg));
`;

describe('tunnelmux plugins', () => {
  it('adds, lists and removes providers in the user plugin folder with npm --prefix', async () => {
    const work = testdir({ npm: FAKE_NPM });
    try {
      chmodSync(path.join(work.dir, 'npm'), 0o755);
      const log = path.join(work.dir, 'npm.log');
      const env = { ...work.env, TUNNELMUX_NPM: path.join(work.dir, 'npm'), FAKE_NPM_LOG: log };
      const pluginDir = path.join(work.dir, 'home', 'plugins');
      const added = await cli(['plugins', 'add', '@tunnelmux/provider-ngrok', '--json'], {
        cwd: work.dir,
        env,
      });
      expect(added.exitCode).toBe(0);
      expect(JSON.parse(readFileSync(log, 'utf8').trim())).toEqual([
        'install',
        '--prefix',
        pluginDir,
        '--no-fund',
        '--no-audit',
        '@tunnelmux/provider-ngrok',
      ]);
      expect(JSON.parse(added.stdout).plugins).toEqual([
        { package: '@tunnelmux/provider-ngrok', id: 'ngrok', version: '3.1.4' },
      ]);
      const listed = JSON.parse((await cli(['plugins', 'list', '--json'], { cwd: work.dir, env })).stdout);
      expect(listed).toMatchObject({
        dir: pluginDir,
        plugins: [{ package: '@tunnelmux/provider-ngrok', id: 'ngrok', ok: true }],
      });
      // Discovery sees it as a user plugin.
      const providers = JSON.parse((await cli(['providers', '--json'], { cwd: work.dir, env })).stdout);
      expect(providers.providers).toEqual([expect.objectContaining({ id: 'ngrok', source: 'user' })]);
      const missing = await cli(['plugins', 'remove', 'tunnelmux-provider-absent'], { cwd: work.dir, env });
      expect(missing.exitCode).toBe(2);
      const removed = await cli(['plugins', 'remove', '@tunnelmux/provider-ngrok'], { cwd: work.dir, env });
      expect(removed.exitCode).toBe(0);
      expect(existsSync(path.join(pluginDir, 'node_modules', '@tunnelmux', 'provider-ngrok'))).toBe(false);
    } finally {
      work.cleanup();
    }
  });

  it('reports a failing npm with exit code 1', async () => {
    const work = testdir({ npm: '#!/bin/sh\necho "E404 not found" >&2\nexit 1\n' });
    try {
      chmodSync(path.join(work.dir, 'npm'), 0o755);
      const result = await cli(['plugins', 'add', 'tunnelmux-provider-nope', '--json'], {
        cwd: work.dir,
        env: { ...work.env, TUNNELMUX_NPM: path.join(work.dir, 'npm') },
      });
      expect(result.exitCode).toBe(1);
      expect(JSON.parse(result.stdout).error).toContain('E404 not found');
    } finally {
      work.cleanup();
    }
  });
});

describe('tunnelmux demo', () => {
  it("runs the scripted failover with the CLI's own forwarder and prints a summary", async () => {
    const work = testdir();
    try {
      const result = await cli(['demo', '--json'], { cwd: work.dir, env: work.env, timeout: 120_000 });
      expect(result.exitCode).toBe(0);
      const lines = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const summary = lines.at(-1);
      expect(summary.type).toBe('summary');
      expect(summary.connections.ok).toBeGreaterThan(0);
      expect(summary.failovers).toBeGreaterThanOrEqual(1);
      expect(lines.some((line) => line.type === 'demo' && /failover/.test(line.line))).toBe(true);
    } finally {
      work.cleanup();
    }
  });
});
