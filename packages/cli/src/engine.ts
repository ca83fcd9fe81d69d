import path from 'node:path';
import type { Manager, Provider } from '@tunnelmux/core';
import { failoverSchema } from '@tunnelmux/core/config';
import type { ResumeSettings } from '@tunnelmux/core/session';
import {
  ConfigFileError,
  type ConfigProblem,
  exposePaths,
  findConfig,
  findConfigQuietly,
  type LoadedConfig,
  loadConfig,
} from './config/load';
import type { ResumeConfig, ServiceConfig } from './config/schema';
import { DEFAULT_SERVICE } from './config/services';
import { DEFAULT_DRAIN_MS } from './config/services-schema';
import { type Discovery, discover } from './discovery/discover';
import { type LoadedProvider, type LoadFailure, loadProviders } from './discovery/load';
import { messageOf } from './util/errors';

/** A config loaded, its providers discovered and imported, and every path's options checked. */
export interface Prepared {
  loaded: LoadedConfig;
  discovery: Discovery;
  providers: Map<string, LoadedProvider>;
  failures: LoadFailure[];
  /** Paths whose provider loaded; the others are reported in `failures`. */
  runnable: LoadedConfig['config']['paths'];
}

/** What `tunnelmux expose <port> --via …` asks for; it replaces the config's paths and front door. */
export interface ExposeRequest {
  port: number;
  via: string[];
  host?: string;
  /** `--resume --key-file`: run a relay in front of the port and publish the relay's port instead. */
  resume?: { keyFile: string };
}

/** Load the config and the providers it uses; option errors point at the config line (exit 2). */
export async function prepare(configFile: string | undefined, expose?: ExposeRequest): Promise<Prepared> {
  const loaded = expose ? loadForExpose(configFile, expose) : loadConfig(findConfig(configFile));
  const { config } = loaded;
  const discovery = discover({ configDir: loaded.dir, plugins: config.plugins });
  const ids = [...new Set(config.paths.map((path) => path.provider))];
  const { loaded: providers, failures } = await loadProviders(discovery, ids);
  const runnable = config.paths.filter((path) => providers.has(path.provider));
  await checkOptions(loaded, providers);
  return { loaded, discovery, providers, failures, runnable };
}

/**
 * The config for `tunnelmux expose`: only expose paths, no front door. A config file, when there is one, still
 * gives plugins, failover settings, the instance name and each provider's options (`expose.options`).
 */
function loadForExpose(configFile: string | undefined, request: ExposeRequest): LoadedConfig {
  const file = configFile ? findConfig(configFile) : findConfigQuietly();
  const base = file ? loadConfig(file) : undefined;
  const { resume: _resume, ...publish } = request;
  const written = base?.config.expose;
  // With several ports in the file, the entry for this port gives the options (else the first).
  const entries = Array.isArray(written) ? written : written ? [written] : [];
  const index = Math.max(
    0,
    entries.findIndex((entry) => entry.port === request.port),
  );
  const expose = { ...entries[index], ...publish };
  const paths = exposePaths(expose);
  const optionsField = (at: number): PropertyKey[] => [
    ...(Array.isArray(written) ? ['expose', index] : ['expose']),
    'options',
    paths[at]?.provider ?? '',
  ];
  const service: ServiceConfig = {
    name: DEFAULT_SERVICE,
    failover: failoverSchema.parse(base?.config.failover ?? {}),
    strategy: base?.config.strategy,
    drain: base?.config.drain ?? DEFAULT_DRAIN_MS,
    paths,
    field: ['expose'],
    pathFields: paths.map((_, at) => [...optionsField(at).slice(0, -2), 'via', at]),
    optionsFields: paths.map((_, at) => optionsField(at)),
  };
  const config = { ...base?.config, listen: undefined, expose, paths, services: [service] };
  const where = { file: '(command line)', line: 1, col: 1 };
  return {
    file: base?.file ?? '(command line)',
    dir: base?.dir ?? process.cwd(),
    config,
    locate: (fieldPath) => base?.locate(fieldPath) ?? '(command line)',
    position: (fieldPath) => base?.position(fieldPath) ?? where,
    optionsField,
  };
}

/** Validate each path's options with its provider's schema, mapping errors to the config's lines. */
export async function checkOptions(
  loaded: LoadedConfig,
  providers: Map<string, LoadedProvider>,
): Promise<void> {
  const { validateOptions } = await import('@tunnelmux/core');
  const problems: ConfigProblem[] = [];
  for (const [index, path] of loaded.config.paths.entries()) {
    const provider = providers.get(path.provider)?.provider;
    if (!provider) continue;
    try {
      await validateOptions(provider, path.options ?? {}, { pathId: path.id, mode: path.mode });
    } catch (error) {
      const field = (error as { field?: string }).field;
      const fieldPath = [
        ...loaded.optionsField(index),
        ...(field && field !== '(options)' ? field.split('.') : []),
      ];
      problems.push({
        ...loaded.position(fieldPath),
        field: '',
        value: undefined,
        message: messageOf(error).replace(/^\[tunnelmux\] /, ''),
      });
    }
  }
  if (problems.length > 0) throw new ConfigFileError(problems);
}

/** The manager for a prepared config. */
export async function createEngine(prepared: Prepared): Promise<Manager> {
  const { createManager } = await import('@tunnelmux/core');
  const { config } = prepared.loaded;
  const providers: Provider[] = [...prepared.providers.values()].map((entry) => entry.provider);
  return createManager({
    target: config.target,
    protocol: config.protocol,
    failover: config.failover,
    providers,
    resume: config.resume ? await resumeSettings(config.resume, prepared.loaded.dir) : undefined,
  });
}

/** The `resume` block as core takes it: the key read from its file (0600 or refused), durations in ms. */
export async function resumeSettings(resume: ResumeConfig, dir: string): Promise<ResumeSettings> {
  const { readSessionKeyFile } = await import('@tunnelmux/core/session');
  const key = await readSessionKeyFile(path.resolve(dir, resume.keyFile));
  return {
    key,
    windowMs: resume.window,
    heartbeatMs: resume.heartbeat,
    // Three silent heartbeats make a dead carrier, as with the default 1 s / 3 s.
    deadAfterMs: resume.heartbeat === undefined ? undefined : resume.heartbeat * 3,
    bufferBytes: resume.buffer,
  };
}

/** The path specs core's startMultiple takes. */
export function pathSpecs(prepared: Prepared) {
  return prepared.runnable.map((path, index) => ({
    id: path.id,
    provider: path.provider,
    priority: path.priority ?? index + 1,
    mode: path.mode,
    target: path.target,
    protocol: path.protocol,
    options: path.options ?? {},
  }));
}
