// Tiny broken provider packages, written on the fly and packed into tarballs, one per way a package can break.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runOk } from './run';

export interface BrokenProvider {
  /** The provider id a config would use. */
  id: string;
  packageName: string;
  /** What `providers` and `doctor` must say about it. */
  reason: RegExp;
  story: string;
}

// A valid provider module: an options schema by hand (Standard Schema), open that never succeeds.
const VALID_PROVIDER = (id: string, apiVersion: number) => `import { defineProvider } from '@tunnelmux/core';

export default defineProvider({
  apiVersion: ${apiVersion},
  name: '${id}',
  summary: 'a fixture provider',
  access: {
    options: { '~standard': { version: 1, vendor: 'fixture', validate: (value) => ({ value }) } },
    open: async () => {
      throw new Error('fixture provider: open is not implemented');
    },
  },
});
`;

const FIXTURES: Array<BrokenProvider & { manifest?: object; peer: string; source: string }> = [
  {
    id: 'throws',
    packageName: 'tunnelmux-provider-throws',
    story: 'throws on import',
    reason: /boom: this provider fails as it loads/,
    manifest: { apiVersion: 1, provider: 'throws' },
    peer: '^0.1.0',
    source: "throw new Error('boom: this provider fails as it loads');\n",
  },
  {
    id: 'future',
    packageName: 'tunnelmux-provider-future',
    story: 'speaks provider API 2',
    reason: /(?:API|apiVersion)\D{0,20}\b2\b/i,
    manifest: { apiVersion: 2, provider: 'future' },
    peer: '^0.1.0',
    source: VALID_PROVIDER('future', 2),
  },
  {
    id: 'nomanifest',
    packageName: 'tunnelmux-provider-nomanifest',
    story: 'has no "tunnelmux" manifest',
    reason: /manifest/i,
    manifest: undefined,
    peer: '^0.1.0',
    source: VALID_PROVIDER('nomanifest', 1),
  },
  {
    id: 'oldcore',
    packageName: 'tunnelmux-provider-oldcore',
    story: 'wants @tunnelmux/core ^9.0.0',
    // One sentence naming the wanted range and the running version.
    reason: /\^9\.0\.0.*\b0\.1\.0\b|\b0\.1\.0\b.*\^9\.0\.0/,
    manifest: { apiVersion: 1, provider: 'oldcore' },
    peer: '^9.0.0',
    source: VALID_PROVIDER('oldcore', 1),
  },
];

export const BROKEN: readonly BrokenProvider[] = FIXTURES.map(({ id, packageName, reason, story }) => ({
  id,
  packageName,
  reason,
  story,
}));

/** Write each broken provider as a package folder under `root` and `npm pack` it into `dest`. */
export async function packBrokenProviders(root: string, dest: string): Promise<string[]> {
  const tarballs: string[] = [];
  for (const fixture of FIXTURES) {
    const dir = path.join(root, fixture.packageName);
    await mkdir(dir, { recursive: true });
    const manifest = {
      name: fixture.packageName,
      version: '0.1.0',
      type: 'module',
      license: 'MIT',
      keywords: ['tunnelmux-provider'],
      ...(fixture.manifest ? { tunnelmux: fixture.manifest } : {}),
      exports: { '.': './index.js', './package.json': './package.json' },
      peerDependencies: { '@tunnelmux/core': fixture.peer },
    };
    await writeFile(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(path.join(dir, 'index.js'), fixture.source);
    await runOk('npm', ['pack', '--pack-destination', dest, '--loglevel=error'], { cwd: dir });
    tarballs.push(path.join(dest, `${fixture.packageName}-0.1.0.tgz`));
  }
  return tarballs;
}
