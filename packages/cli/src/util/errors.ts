/** An error the CLI prints as is (no stack) and exits with its code: 2 for usage/config, 1 for runtime. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** A usage or config problem: exit code 2. */
export function usageError(message: string, cause?: unknown): CliError {
  return new CliError(message, 2, { cause });
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
