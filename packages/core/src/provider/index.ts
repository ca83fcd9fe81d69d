// The provider contract in full: the root entry's provider names plus the details a provider kit or a host that
// loads providers (the CLI) needs.
export type { TunnelmuxErrorOptions } from '../errors';
export type { ChildHandle, ChildLine, SpawnOptions } from '../process/child';
// A host that runs children of its own (the CLI's hooks) gives them the same minimal environment and reaper.
export { childEnv } from '../process/child-env';
export type { ExitInfo } from '../process/exit';
export { guardPid } from '../process/reaper';
export { defineProvider, isProvider, validateOptions } from './define-provider';
export { detectProvider } from './detect-provider';
export {
  API_VERSION,
  type BaseOpenContext,
  type BinarySpec,
  type CheckResult,
  type DetectContext,
  type DetectResult,
  type LineParser,
  type Logger,
  type LogLevel,
  type Mode,
  type ModeDefinition,
  type OpenContext,
  type OptionsSchema,
  PROVIDER_TAG,
  type Provider,
  type ProviderDefinition,
  type ProviderHelpers,
  type Target,
  type Tunnel,
  type TunnelEnd,
} from './types';
