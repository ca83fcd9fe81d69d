import type { DetectResult, Provider } from '@tunnelmux/core';
import { detectProvider as coreDetect } from '@tunnelmux/core/provider';

/** Run a provider's detect for `doctor` and `providers --detect`: bounded, and a throwing detect is reported. */
export function detectProvider(
  provider: Provider,
  env: NodeJS.ProcessEnv,
  bin?: string,
): Promise<DetectResult> {
  return coreDetect(provider, { env, bin });
}
