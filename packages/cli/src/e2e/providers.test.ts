import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, testdir } from './harness';

// A provider package as publishers write it; listing must never import it (this one would crash if it were).
function providerPackage(nodeModules: string, name: string, id: string): void {
  const dir = path.join(nodeModules, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name,
      version: '1.0.0',
      keywords: ['tunnelmux-provider'],
      tunnelmux: { apiVersion: 1, provider: id },
    }),
  );
  writeFileSync(path.join(dir, 'index.js'), 'throw new Error("imported");\n');
}

type Listing = { providers: { id: string; source: string; foundIn: string; foundVia: string }[] };

describe('providers, searched the way Node resolves modules', () => {
  it('finds ./node_modules without a config, and a parent folder from a subfolder, saying where', async () => {
    const work = testdir();
    try {
      providerPackage(path.join(work.dir, 'node_modules'), 'tunnelmux-provider-local-one', 'local-one');
      const here = await cli(['providers', '--json'], { cwd: work.dir, env: work.env });
      expect(here.exitCode).toBe(0);
      expect((JSON.parse(here.stdout) as Listing).providers).toEqual([
        expect.objectContaining({
          id: 'local-one',
          source: 'cwd',
          foundIn: path.join(work.dir, 'node_modules'),
          foundVia: 'current folder or a parent',
        }),
      ]);
      // A config in a subfolder sees the parent's node_modules.
      const sub = path.join(work.dir, 'ops');
      mkdirSync(sub);
      writeFileSync(
        path.join(sub, 'tunnelmux.yaml'),
        'target: h:22\npaths: [{ id: a, provider: local-one }]\n',
      );
      const below = await cli(['providers', '--json', '--config', path.join(sub, 'tunnelmux.yaml')], {
        cwd: '/',
        env: work.env,
      });
      expect((JSON.parse(below.stdout) as Listing).providers).toEqual([
        expect.objectContaining({
          id: 'local-one',
          source: 'project',
          foundIn: path.join(work.dir, 'node_modules'),
        }),
      ]);
    } finally {
      work.cleanup();
    }
  });
});
