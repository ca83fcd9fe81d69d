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
export type Source = 'config' | 'project' | 'cwd' | 'user' | 'cli';

export const SOURCE_LABEL: Record<Source, string> = {
  config: 'config plugins',
  project: 'config folder or a parent',
  cwd: 'current folder or a parent',
  user: 'user plugin folder',
  cli: 'beside the CLI',
};

/** A provider known from its manifest (not imported yet) or an explicit module (imported on use). */
export type Candidate =
  | ({
      kind: 'package';
      source: Source;
      /** The node_modules folder, package.json or plugin entry it was found through. */
      foundIn: string;
    } & ProviderManifest)
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
  /** The current folder (default `process.cwd()`). */
  cwd?: string;
}

/** `dir` and each folder above it, nearest first: where Node looks for node_modules. */
export function ancestors(dir: string): string[] {
  const found: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    found.push(at);
    if (path.dirname(at) === at) return found;
  }
}

/**
 * Find provider packages without importing them, in order, the way Node resolves modules: explicit config
 * plugins; the config's folder and each parent (package.json dependencies, node_modules); the current folder and
 * each parent; the user plugin folder; packages installed beside the CLI. Only those folders' top level is read.
 */
export function discover(options: DiscoverOptions = {}): Discovery {
  const result: Discovery = { providers: new Map(), modules: [], shadowed: [], looked: [], skipped: [] };
  const seenDirs = new Set<string>();
  const add = (dir: string, source: Source, foundIn: string) => {
    const real = path.resolve(dir);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    const manifest = readManifest(real);
    if ('error' in manifest) {
      result.skipped.push({ where: real, reason: manifest.error });
      return;
    }
    const candidate = { kind: 'package' as const, source, foundIn, ...manifest };
    if (result.providers.has(manifest.id)) result.shadowed.push(candidate);
    else result.providers.set(manifest.id, candidate);
  };
  const seenFolders = new Set<string>();
  const scanFolder = (nodeModules: string, source: Source) => {
    if (seenFolders.has(nodeModules)) return;
    seenFolders.add(nodeModules);
    result.looked.push(nodeModules);
    for (const dir of providerPackagesIn(nodeModules)) add(dir, source, nodeModules);
  };
  const scanProject = (dir: string, source: Source) => {
    const manifest = path.join(dir, 'package.json');
    if (!seenFolders.has(manifest) && existsSync(manifest)) {
      seenFolders.add(manifest);
      result.looked.push(manifest);
      for (const dep of providerDependenciesOf(dir)) {
        if (dep.dir) add(dep.dir, source, manifest);
        else
          result.skipped.push({
            where: path.join(dir, 'package.json'),
            reason: `${dep.name} is listed but not installed; run npm install in ${dir}`,
          });
      }
    }
    scanFolder(path.join(dir, 'node_modules'), source);
  };

  const base = options.configDir ?? options.cwd ?? process.cwd();
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
        add(file, 'config', file);
      } else {
        result.modules.push({ kind: 'module', source: 'config', file, spec });
      }
    } else {
      const dir = resolvePackageDir(spec, base);
      result.looked.push(`${spec} (from ${base})`);
      if (dir) add(dir, 'config', `${spec} (from ${base})`);
      else
        result.skipped.push({
          where: base,
          reason: `plugin package "${spec}" is not installed; run npm install ${spec}`,
        });
    }
  }
  if (options.configDir) for (const dir of ancestors(options.configDir)) scanProject(dir, 'project');
  for (const dir of ancestors(options.cwd ?? process.cwd())) scanProject(dir, 'cwd');
  scanProject(userPluginDir(options.env), 'user');
  for (const dir of options.cliDirs ?? cliNodeModules()) scanFolder(dir, 'cli');
  return result;
}
