import { pathToFileURL } from 'node:url';
import type { Provider } from '@tunnelmux/core';
import semver from 'semver';
import { messageOf } from '../util/errors';
import { type Candidate, type Discovery, SOURCE_LABEL } from './discover';
import { coreVersion, manifestProblems, packageNamesFor } from './manifest';

export { coreVersion, MANIFEST_API_VERSION, manifestProblems } from './manifest';

/** A provider ready to register, with where it came from and any warning about it. */
export interface LoadedProvider {
  id: string;
  provider: Provider;
  packageName?: string;
  version?: string;
  where: string;
  source: Candidate['source'];
  warnings: string[];
}

/** A provider that could not be used, with where discovery looked and how to install it. */
export interface LoadFailure {
  id: string;
  message: string;
  looked: string[];
  install: string;
}

/** The running @tunnelmux/core version, read from its package.json (exported for this). */

/** The install advice for a provider id. */
export function installAdvice(id: string): string {
  const [first, third] = packageNamesFor(id);
  return `npm install ${first} (or ${third}) next to your config, or \`tunnelmux plugins add ${first}\``;
}

/** Import and check the providers with these ids (and every explicit config module); the rest are never imported. */
export async function loadProviders(
  discovery: Discovery,
  ids: readonly string[],
): Promise<{ loaded: Map<string, LoadedProvider>; failures: LoadFailure[] }> {
  const core = await import('@tunnelmux/core/provider');
  const running = coreVersion();
  const loaded = new Map<string, LoadedProvider>();
  const failures: LoadFailure[] = [];
  const fail = (id: string, message: string) =>
    failures.push({ id, message, looked: discovery.looked, install: installAdvice(id) });
  // An explicit module is the user's own file: the fix is in the config, not in npm.
  const failModule = (spec: string, message: string) =>
    failures.push({
      id: spec,
      message,
      looked: discovery.looked,
      install: `fix or remove "${spec}" under plugins: in the config`,
    });

  // Explicit modules first: they win over packages of the same id.
  for (const candidate of discovery.modules) {
    try {
      const provider = pickExport(await import(pathToFileURL(candidate.file).href), core.isProvider);
      if (!provider) {
        failModule(
          candidate.spec,
          `${candidate.file} does not export a provider made with defineProvider() (default export or "provider")`,
        );
        continue;
      }
      if (provider.apiVersion !== core.API_VERSION) {
        failModule(
          candidate.spec,
          `${candidate.file} speaks provider API ${String(provider.apiVersion)}, this CLI speaks ${core.API_VERSION}`,
        );
        continue;
      }
      if (!loaded.has(provider.name)) {
        loaded.set(provider.name, {
          id: provider.name,
          provider,
          where: candidate.file,
          source: 'config',
          warnings: [],
        });
      }
    } catch (error) {
      failModule(candidate.spec, `could not import ${candidate.file}: ${messageOf(error)}`);
    }
  }

  for (const id of new Set(ids)) {
    if (loaded.has(id)) continue;
    const candidate = discovery.providers.get(id);
    if (!candidate) {
      fail(id, `provider "${id}" is not installed`);
      continue;
    }
    const where = `${candidate.packageName}@${candidate.version} (${SOURCE_LABEL[candidate.source]}: ${candidate.dir})`;
    const { error, warnings } = manifestProblems(candidate, core.API_VERSION, running, semver.satisfies);
    if (error) {
      fail(id, `${where} ${error}`);
      continue;
    }
    try {
      const provider = pickExport(await import(pathToFileURL(candidate.entry).href), core.isProvider);
      if (!provider) {
        fail(id, `${where}: ${candidate.entry} does not export a provider made with defineProvider()`);
        continue;
      }
      if (provider.name !== id) {
        fail(id, `${where}: its manifest says "${id}" but the provider is named "${provider.name}"`);
        continue;
      }
      loaded.set(id, {
        id,
        provider,
        packageName: candidate.packageName,
        version: candidate.version,
        where,
        source: candidate.source,
        warnings,
      });
    } catch (error) {
      fail(id, `${where}: could not import ${candidate.entry}: ${messageOf(error)}`);
    }
  }
  return { loaded, failures };
}

function pickExport(
  mod: Record<string, unknown>,
  isProvider: (value: unknown) => value is Provider,
): Provider | undefined {
  for (const value of [
    mod.default,
    mod.provider,
    (mod.default as Record<string, unknown> | undefined)?.default,
  ]) {
    if (isProvider(value)) return value;
  }
  return undefined;
}

/** A load failure as a few lines a user can act on. */
export function formatFailure(failure: LoadFailure): string {
  return [
    `[tunnelmux] provider "${failure.id}": ${failure.message}`,
    `  looked in: ${failure.looked.length > 0 ? failure.looked.join(', ') : '(nowhere)'}`,
    `  install: ${failure.install}`,
  ].join('\n');
}
