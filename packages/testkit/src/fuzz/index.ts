// Property-based fuzzing helpers shared by the provider packages (fast-check).
import { ConfigError, validateOptions } from '@tunnelmux/core';
import fc from 'fast-check';
import { z } from 'zod';

/** Runs per property: 10,000 in CI; TUNNELMUX_FUZZ_RUNS lowers it for `pnpm mutation` only. */
export const FUZZ_RUNS = Number(process.env.TUNNELMUX_FUZZ_RUNS ?? 10_000);

/** Tool output and user text: printable, binary, multi-line, long. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }).map((lines) => lines.join('\n')),
  fc.string({ minLength: 500, maxLength: 3000 }),
);

/** Option objects with the schema's own keys (read from the schema at run time) and stray ones, set to anything. */
export function anyOptions(schema: unknown): fc.Arbitrary<unknown> {
  let keys: string[] = [];
  try {
    const json = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as {
      properties?: Record<string, unknown>;
    };
    keys = Object.keys(json.properties ?? {});
  } catch {
    // A schema zod cannot describe: stray keys only.
  }
  const key = keys.length > 0 ? fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 6 })) : fc.string();
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 1 }),
    fc.string({ maxLength: 30 }),
    fc.integer({ min: -1, max: 70_000 }),
    fc.constantFrom('', '1s', '127.0.0.1:22', 'a.example.com', 'TOKEN_ENV', '/tmp/x', 'https://x.example'),
  );
  return fc.oneof(
    fc.dictionary(key, value, { maxKeys: 4 }),
    fc.jsonValue({ maxDepth: 1 }),
    fc.constant(undefined),
  );
}

/**
 * Check `validateOptions` on `options` in every mode of `provider`: it accepts, or rejects with a ConfigError
 * naming the provider, the path and a field, of bounded length. Throws (failing the property) otherwise.
 */
export async function checkOptionsVerdict(
  provider: Parameters<typeof validateOptions>[0],
  options: unknown,
): Promise<void> {
  const prefix = `[tunnelmux] [${provider.name}] path "p": `;
  for (const mode of provider.modes) {
    try {
      await validateOptions(provider, options, { mode, pathId: 'p' });
    } catch (error) {
      if (!(error instanceof ConfigError)) {
        throw new Error(`${mode}: threw ${(error as Error)?.name} instead of a ConfigError`, {
          cause: error,
        });
      }
      const { message } = error;
      if (!message.startsWith(prefix) || !/^(option "|options: )/.test(message.slice(prefix.length))) {
        throw new Error(`${mode}: the message does not name the path and field: ${message.slice(0, 300)}`);
      }
      // A bad value is echoed clipped, whatever its size.
      if (message.length > 4000) throw new Error(`${mode}: a ${message.length}-character message`);
    }
  }
}
