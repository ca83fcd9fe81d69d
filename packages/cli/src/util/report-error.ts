import { CliError, messageOf } from './errors';

/** Print a command's failure (as JSON for `--json`) and return its exit code: 2 for usage/config, else 1. */
export function reportError(error: unknown, json: boolean): number {
  const code = exitCodeOf(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: messageOf(error), exitCode: code })}\n`);
  else process.stderr.write(`${messageOf(error)}\n`);
  return code;
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  const named = error as { name?: string; exitCode?: unknown };
  if (typeof named.exitCode === 'number') return named.exitCode;
  if (named.name === 'ConfigError') return 2;
  return 1;
}
