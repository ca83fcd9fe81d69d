import type { z } from 'zod';
import { ConfigError, clip, describeFieldValue } from '../errors';

/** Turn zod issues into one ConfigError naming each field, the bad value and the expectation. */
export function configErrorFrom(error: z.ZodError, input: unknown, where: string): ConfigError {
  const parts = error.issues.map((issue) => {
    const field = clip(issue.path.map(String).join('.') || '(root)', 120);
    const value = issue.path.reduce<unknown>(
      (node, key) =>
        node && typeof node === 'object'
          ? (node as Record<PropertyKey, unknown>)[key as PropertyKey]
          : undefined,
      input,
    );
    // Key names and zod's own message can echo what the user wrote: clipped like any value.
    const unknownKeys = issue.code === 'unrecognized_keys' ? ` (${clip(issue.keys.join(', '))})` : '';
    return {
      field,
      value,
      text: `${where}${field}: ${clip(issue.message)}${unknownKeys}, got ${describeFieldValue(field, value)}`,
    };
  });
  const first = parts[0];
  return new ConfigError(parts.map((p) => p.text).join('; '), {
    field: first?.field,
    value: first?.value,
    cause: error,
  });
}
