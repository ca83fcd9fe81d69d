import type { Redactor } from './redactor';
import type { BaseOpenContext, Logger, LogLevel, Mode, ProviderHelpers, Target } from './types';

export interface OpenContextInput {
  pathId: string;
  mode: Mode;
  target: Target;
  signal: AbortSignal;
  helpers: ProviderHelpers;
  redactor: Redactor;
  onLog?: (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;
  onDialFailure?: (reason: string) => void;
  onPublicUrl?: (url: string) => void;
}

/** The context a provider's `open` receives; logs pass through the redactor first. */
export function createOpenContext(input: OpenContextInput): BaseOpenContext {
  const write = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) =>
    input.onLog?.(level, input.redactor.text(message), fields && input.redactor.value(fields));
  const log: Logger = {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
  return {
    ...input.helpers,
    pathId: input.pathId,
    mode: input.mode,
    target: input.target,
    signal: input.signal,
    log,
    secret: (value) => input.redactor.add(value),
    reportDialFailure: (reason) => input.onDialFailure?.(input.redactor.text(reason)),
    setPublicUrl: (url) => input.onPublicUrl?.(url),
  };
}
