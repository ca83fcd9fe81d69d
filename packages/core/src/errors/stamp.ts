import { TunnelmuxError } from './errors';

/**
 * Give a tunnelmux error the provider and path it came from when its thrower left them out, prefix included, so
 * providers never stamp by hand. Anything else passes through unchanged (core wraps it where it reports it).
 */
export function stampError(error: unknown, provider: string, pathId: string): unknown {
  if (!(error instanceof TunnelmuxError)) return error;
  const writable = error as { -readonly [K in 'provider' | 'pathId']?: string };
  if (!error.provider) {
    writable.provider = provider;
    if (error.message.startsWith('[tunnelmux] ') && !error.message.startsWith(`[tunnelmux] [`)) {
      error.message = `[tunnelmux] [${provider}] ${error.message.slice('[tunnelmux] '.length)}`;
    }
  }
  if (!error.pathId) writable.pathId = pathId;
  return error;
}
