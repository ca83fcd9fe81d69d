export { buildProgram, run } from './cli';
export { configJsonSchema, configJsonSchemaText } from './config/json-schema';
export {
  ConfigFileError,
  type ConfigProblem,
  findConfig,
  formatProblem,
  type LoadedConfig,
  loadConfig,
} from './config/load';
export { type Config, configSchema } from './config/schema';
export { socketPath } from './control/socket-path';
export {
  type Candidate,
  type DiscoverOptions,
  type Discovery,
  discover,
  type Source,
} from './discovery/discover';
export {
  coreVersion,
  formatFailure,
  type LoadedProvider,
  type LoadFailure,
  loadProviders,
} from './discovery/load';
export { isProviderPackageName, packageNamesFor, readManifest } from './discovery/manifest';
export { userPluginDir } from './discovery/sources';
export { VERSION } from './version';
