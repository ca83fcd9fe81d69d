import type { z } from 'zod';
import { ConfigError, describeFieldValue } from '../errors';

/** Turn zod issues into one ConfigError naming each field, the bad value and the expectation. */
export function configErrorFrom(error: z.ZodError, input: unknown, where: string): ConfigError {
  const parts = error.issues.map((issue) => {
    const field = issue.path.map(String).join('.') || '(root)';
    const value = issue.path.reduce<unknown>(
      (node, key) =>
        node && typeof node === 'object'
          ? (node as Record<PropertyKey, unknown>)[key as PropertyKey]
          : undefined,
      input,
    );
    const unknownKeys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    return {
      field,
      value,
      text: `${where}${field}: ${issue.message}${unknownKeys}, got ${describeFieldValue(field, value)}`,
    };
  });
  const first = parts[0];
  return new ConfigError(parts.map((p) => p.text).join('; '), {
    field: first?.field,
    value: first?.value,
    cause: error,
  });
}
