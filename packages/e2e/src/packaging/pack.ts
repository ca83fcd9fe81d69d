// Packing workspace packages into tarballs the way they would be published, and checking what is inside.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { run, runOk } from './run';

export const REPO = path.resolve(import.meta.dirname, '../../../..');

/** The packages the packaging test installs, and where they live. */
export const PACKAGES = {
  core: { name: '@tunnelmux/core', dir: 'packages/core' },
  cli: { name: '@tunnelmux/cli', dir: 'packages/cli' },
  dashboard: { name: '@tunnelmux/dashboard', dir: 'packages/dashboard' },
  // The CLI depends on it; npm would fetch it from the registry like core.
  history: { name: '@tunnelmux/history', dir: 'packages/history' },
  cloudflare: { name: '@tunnelmux/provider-cloudflare', dir: 'packages/provider-cloudflare' },
  ngrok: { name: '@tunnelmux/provider-ngrok', dir: 'packages/provider-ngrok' },
  socat: { name: 'tunnelmux-provider-socat', dir: 'examples/tunnelmux-provider-socat' },
} as const;
export type PackageKey = keyof typeof PACKAGES;

type Manifest = {
  name: string;
  version: string;
  bin?: string | Record<string, string>;
  exports?: Record<string, unknown>;
};

/** The files a package.json points at: every exports target and every bin. */
export function entryFiles(manifest: Manifest): string[] {
  const files = new Set<string>();
  const walk = (value: unknown) => {
    if (typeof value === 'string') files.add(value);
    else if (value && typeof value === 'object') for (const inner of Object.values(value)) walk(inner);
  };
  walk(manifest.exports);
  walk(manifest.bin);
  return [...files].map((file) => path.posix.normalize(file));
}

/** `@tunnelmux/cli` 0.1.0 → `tunnelmux-cli-0.1.0.tgz`, the name npm and pnpm give a tarball. */
export function tarballName(manifest: Pick<Manifest, 'name' | 'version'>): string {
  return `${manifest.name.replace(/^@/, '').replace('/', '-')}-${manifest.version}.tgz`;
}

/**
 * `pnpm pack` one workspace package into `dest` (pnpm rewrites `workspace:` ranges to real versions).
 * Refuses a package whose build output is missing, so a stale or half-built tree fails here, clearly.
 */
export async function packWorkspacePackage(key: PackageKey, dest: string): Promise<string> {
  const dir = path.join(REPO, PACKAGES[key].dir);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
  const missing = entryFiles(manifest).filter(
    (file) => file !== 'package.json' && !existsSync(path.join(dir, file)),
  );
  if (missing.length > 0) {
    throw new Error(
      `${manifest.name} is not built: ${missing.join(', ')} missing in ${dir}; run pnpm turbo run build first`,
    );
  }
  await runOk('pnpm', ['pack', '--pack-destination', dest], { cwd: dir, timeoutMs: 60_000 });
  const tarball = path.join(dest, tarballName(manifest));
  if (!existsSync(tarball)) throw new Error(`pnpm pack did not write ${tarball}`);
  return tarball;
}

/** The file list and package.json of a tarball, read with tar. */
export async function tarballContents(
  tarball: string,
): Promise<{ files: string[]; manifest: Manifest & Record<string, unknown> }> {
  const list = await runOk('tar', ['-tzf', tarball], { cwd: path.dirname(tarball) });
  const files = list.stdout
    .split('\n')
    .filter(Boolean)
    .map((file) => file.replace(/^package\//, ''));
  const json = await run('tar', ['-xOzf', tarball, 'package/package.json'], { cwd: path.dirname(tarball) });
  return { files, manifest: JSON.parse(json.stdout) };
}
