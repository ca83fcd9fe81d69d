import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  type ProviderManifest,
  providerDependenciesOf,
  providerPackagesIn,
  readManifest,
  readPackageJson,
  resolvePackageDir,
} from './manifest';
import { cliNodeModules, userPluginDir } from './sources';

/** Where a provider was found, in the order they are searched. */
export type Source = 'config' | 'project' | 'user' | 'cli';

export const SOURCE_LABEL: Record<Source, string> = {
  config: 'config plugins',
  project: 'config folder',
  user: 'user plugin folder',
  cli: 'beside the CLI',
};

/** A provider known from its manifest (not imported yet) or an explicit module (imported on use). */
export type Candidate =
  | ({ kind: 'package'; source: Source } & ProviderManifest)
  | { kind: 'module'; source: 'config'; file: string; spec: string };

/** What discovery saw: providers by id (first found wins), where it looked, and what it skipped. */
export interface Discovery {
  providers: Map<string, Extract<Candidate, { kind: 'package' }>>;
  /** Explicit config modules: their id is known only once imported. */
  modules: Extract<Candidate, { kind: 'module' }>[];
  /** Later finds of an id already found, kept for `providers` and `doctor`. */
  shadowed: Extract<Candidate, { kind: 'package' }>[];
  /** Every folder searched, in order. */
  looked: string[];
  /** Packages or plugin entries that could not be used, with why. */
  skipped: { where: string; reason: string }[];
}

export interface DiscoverOptions {
  /** The config file's folder, when there is a config. */
  configDir?: string;
  /** The config's `plugins:` entries. */
  plugins?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Override the CLI's own node_modules folders (tests). */
  cliDirs?: readonly string[];
}

/**
 * Find provider packages without importing them, in order: explicit config plugins, the config's folder and its
 * package.json dependencies, the user plugin folder, and packages installed beside the CLI. Never a disk-wide scan.
 */
export function discover(options: DiscoverOptions = {}): Discovery {
  const result: Discovery = { providers: new Map(), modules: [], shadowed: [], looked: [], skipped: [] };
  const seenDirs = new Set<string>();
  const add = (dir: string, source: Source) => {
    const real = path.resolve(dir);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    const manifest = readManifest(real);
    if ('error' in manifest) {
      result.skipped.push({ where: real, reason: manifest.error });
      return;
    }
    const candidate = { kind: 'package' as const, source, ...manifest };
    if (result.providers.has(manifest.id)) result.shadowed.push(candidate);
    else result.providers.set(manifest.id, candidate);
  };
  const scanFolder = (nodeModules: string, source: Source) => {
    result.looked.push(nodeModules);
    for (const dir of providerPackagesIn(nodeModules)) add(dir, source);
  };
  const scanProject = (dir: string, source: Source) => {
    if (existsSync(path.join(dir, 'package.json'))) {
      result.looked.push(path.join(dir, 'package.json'));
      for (const dep of providerDependenciesOf(dir)) {
        if (dep.dir) add(dep.dir, source);
        else
          result.skipped.push({
            where: path.join(dir, 'package.json'),
            reason: `${dep.name} is listed but not installed; run npm install in ${dir}`,
          });
      }
    }
    scanFolder(path.join(dir, 'node_modules'), source);
  };

  const base = options.configDir ?? process.cwd();
  for (const spec of options.plugins ?? []) {
    const local = spec.startsWith('.') || path.isAbsolute(spec);
    if (local) {
      const file = path.resolve(base, spec);
      result.looked.push(file);
      if (!existsSync(file)) {
        result.skipped.push({
          where: file,
          reason: `plugin "${spec}" does not exist (resolved from ${base})`,
        });
      } else if (statSync(file).isDirectory() && readPackageJson(file)) {
        add(file, 'config');
      } else {
        result.modules.push({ kind: 'module', source: 'config', file, spec });
      }
    } else {
      const dir = resolvePackageDir(spec, base);
      result.looked.push(`${spec} (from ${base})`);
      if (dir) add(dir, 'config');
      else
        result.skipped.push({
          where: base,
          reason: `plugin package "${spec}" is not installed; run npm install ${spec}`,
        });
    }
  }
  if (options.configDir) scanProject(options.configDir, 'project');
  scanProject(userPluginDir(options.env), 'user');
  for (const dir of options.cliDirs ?? cliNodeModules()) scanFolder(dir, 'cli');
  return result;
}
