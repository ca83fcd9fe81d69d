import { ConfigError } from '../errors';
import type { Mode, ModeDefinition, Provider, ProviderDefinition } from './types';

/** The definition of `mode`, or a ConfigError naming the modes the provider has. */
export function modeOf(
  provider: Pick<Provider, 'name' | 'modes'> & ProviderDefinition,
  mode: Mode,
  pathId?: string,
): ModeDefinition {
  const spec = provider[mode] as ModeDefinition | undefined;
  if (spec) return spec;
  throw ConfigError.invalid(
    `${pathId ? `path "${pathId}": ` : ''}mode`,
    mode,
    `a mode provider "${provider.name}" has: ${provider.modes.join(', ')}`,
    {
      provider: provider.name,
      pathId,
      hint: `"${provider.name}" does not ${mode === 'expose' ? 'publish a local port (expose)' : 'reach a remote target (access)'}`,
    },
  );
}
