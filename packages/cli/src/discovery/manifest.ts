import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** What a provider package's package.json says about it. */
export interface ProviderManifest {
  packageName: string;
  version: string;
  /** The provider id users write in `provider:`. */
  id: string;
  apiVersion: unknown;
  /** Its `peerDependencies['@tunnelmux/core']` range, when given. */
  coreRange?: string;
  dir: string;
  /** The module to import, from `exports['.']`, `main` or `index.js`. */
  entry: string;
}

const NAME_PATTERNS = [
  /^@tunnelmux\/provider-[a-z0-9-]+$/,
  /^tunnelmux-provider-[a-z0-9-]+$/,
  /^@[^/]+\/tunnelmux-provider-[a-z0-9-]+$/,
];

/** True for package names a provider may have. */
export function isProviderPackageName(name: string): boolean {
  return NAME_PATTERNS.some((pattern) => pattern.test(name));
}

/** The package names a provider id is usually published under, first-party first. */
export function packageNamesFor(id: string): string[] {
  return [`@tunnelmux/provider-${id}`, `tunnelmux-provider-${id}`];
}

type PackageJson = {
  name?: unknown;
  version?: unknown;
  keywords?: unknown;
  tunnelmux?: { apiVersion?: unknown; provider?: unknown };
  peerDependencies?: Record<string, unknown>;
  exports?: unknown;
  main?: unknown;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
  optionalDependencies?: Record<string, unknown>;
};

export function readPackageJson(dir: string): PackageJson | undefined {
  try {
    const data: unknown = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    return data && typeof data === 'object' ? (data as PackageJson) : undefined;
  } catch {
    return undefined;
  }
}

/** The provider manifest of the package in `dir`, or why it is not one. */
export function readManifest(dir: string): ProviderManifest | { error: string } {
  const pkg = readPackageJson(dir);
  if (!pkg) return { error: `no readable package.json in ${dir}` };
  const name = typeof pkg.name === 'string' ? pkg.name : path.basename(dir);
  const keywords = Array.isArray(pkg.keywords) ? pkg.keywords : [];
  if (!keywords.includes('tunnelmux-provider')) {
    return { error: `${name} has no "tunnelmux-provider" keyword in its package.json` };
  }
  const manifest = pkg.tunnelmux;
  if (!manifest || typeof manifest !== 'object' || typeof manifest.provider !== 'string') {
    return {
      error: `${name} has no "tunnelmux": { "apiVersion": 1, "provider": "<id>" } manifest in its package.json`,
    };
  }
  const range = pkg.peerDependencies?.['@tunnelmux/core'];
  return {
    packageName: name,
    version: typeof pkg.version === 'string' ? pkg.version : '0.0.0',
    id: manifest.provider,
    apiVersion: manifest.apiVersion,
    coreRange: typeof range === 'string' ? range : undefined,
    dir,
    entry: path.join(dir, entryOf(pkg)),
  };
}

// The ESM entry of a package, from its exports map, main, or index.js.
function entryOf(pkg: PackageJson): string {
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map(pick).find(Boolean);
    if (value && typeof value === 'object') {
      const conditions = value as Record<string, unknown>;
      for (const key of ['node', 'import', 'default']) {
        const found = pick(conditions[key]);
        if (found) return found;
      }
    }
    return undefined;
  };
  const exports = pkg.exports;
  const root =
    exports && typeof exports === 'object' && !Array.isArray(exports) && '.' in (exports as object)
      ? (exports as Record<string, unknown>)['.']
      : exports;
  return pick(root) ?? (typeof pkg.main === 'string' ? pkg.main : 'index.js');
}

/** Provider packages directly inside one node_modules folder (one level, and one level under each scope). */
export function providerPackagesIn(nodeModules: string): string[] {
  const dirs: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(nodeModules);
  } catch {
    return dirs;
  }
  for (const entry of entries.sort()) {
    if (entry.startsWith('@')) {
      let scoped: string[] = [];
      try {
        scoped = readdirSync(path.join(nodeModules, entry));
      } catch {
        continue;
      }
      for (const name of scoped.sort()) {
        if (isProviderPackageName(`${entry}/${name}`)) dirs.push(path.join(nodeModules, entry, name));
      }
    } else if (isProviderPackageName(entry)) {
      dirs.push(path.join(nodeModules, entry));
    }
  }
  return dirs;
}

/** Provider packages named in a package.json's dependencies, resolved the way Node would from `dir`. */
export function providerDependenciesOf(dir: string): { name: string; dir?: string }[] {
  const pkg = readPackageJson(dir);
  if (!pkg) return [];
  const names = new Set<string>();
  for (const deps of [pkg.dependencies, pkg.devDependencies, pkg.optionalDependencies]) {
    for (const name of Object.keys(deps ?? {})) if (isProviderPackageName(name)) names.add(name);
  }
  return [...names].sort().map((name) => ({ name, dir: resolvePackageDir(name, dir) }));
}

/** Walk up from `from` looking for node_modules/<name>/package.json. */
export function resolvePackageDir(name: string, from: string): string | undefined {
  let dir = path.resolve(from);
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name);
    if (readPackageJson(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The provider API this CLI's core speaks, for manifest checks that must not import core (start-up time). */
export const MANIFEST_API_VERSION = 1;

/**
 * What a provider's manifest alone says is wrong: an API version this CLI does not speak (an error), or a core
 * peer range the running core does not satisfy (a warning). Needs no import of the provider.
 */
export function manifestProblems(
  candidate: Pick<ProviderManifest, 'packageName' | 'version' | 'apiVersion' | 'coreRange'>,
  apiVersion: number,
  running: string,
  /** semver's `satisfies`; without it the core range is not checked (it costs an import at start-up). */
  satisfies?: (version: string, range: string, options: { includePrerelease: boolean }) => boolean,
): { error?: string; warnings: string[] } {
  if (candidate.apiVersion !== apiVersion) {
    return {
      error: `declares provider API ${String(candidate.apiVersion)}, this CLI speaks ${apiVersion}; upgrade one of them`,
      warnings: [],
    };
  }
  const range = candidate.coreRange;
  if (!range) {
    return {
      warnings: [
        `${candidate.packageName} declares no peerDependencies["@tunnelmux/core"]; it may not fit core ${running}`,
      ],
    };
  }
  if (satisfies && !range.startsWith('workspace:') && !safeSatisfies(satisfies, running, range)) {
    return {
      warnings: [
        `${candidate.packageName}@${candidate.version} wants @tunnelmux/core ${range} but ${running} is running; ` +
          `upgrade with npm install ${candidate.packageName}@latest`,
      ],
    };
  }
  return { warnings: [] };
}

/** An unparsable range is the provider's problem to state, not a reason to refuse it here. */
function safeSatisfies(
  satisfies: NonNullable<Parameters<typeof manifestProblems>[3]>,
  running: string,
  range: string,
): boolean {
  try {
    return satisfies(running, range, { includePrerelease: true });
  } catch {
    return true;
  }
}

/** The version of the @tunnelmux/core this CLI runs with (read from its package.json, nothing imported). */
export function coreVersion(): string {
  const require = createRequire(import.meta.url);
  const file = require.resolve('@tunnelmux/core/package.json');
  return JSON.parse(readFileSync(file, 'utf8')).version as string;
}
