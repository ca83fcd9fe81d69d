import { errorMessage } from '../errors';
import { createHelpers } from './helpers';
import type { DetectResult, Provider } from './types';

/** Run a provider's `detect` the way `doctor` needs it: bounded in time, and a throwing detect is reported, not thrown. */
export async function detectProvider(
  provider: Provider,
  options: { env?: NodeJS.ProcessEnv; bin?: string; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<DetectResult> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs ?? 15_000),
    ...(options.signal ? [options.signal] : []),
  ]);
  try {
    return await provider.detect({ ...createHelpers(options.env ?? process.env), signal, bin: options.bin });
  } catch (error) {
    return { available: false, detail: `detect failed: ${errorMessage(error)}` };
  }
}
