import { failoverSchema, pathSchema } from '@tunnelmux/core/config';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configJsonSchema } from './json-schema';
import { configSchema } from './schema';

// A value core accepts for each path key; the test below fails when core gains a key this map lacks.
const PATH_SAMPLES: Record<string, unknown> = {
  id: 'a',
  provider: 'ssh',
  priority: 1,
  mode: 'access',
  target: 'devbox.internal:22',
  protocol: 'ssh',
  options: { host: 'jump.internal' },
};

const base = { target: 'devbox.internal:22', paths: [{ id: 'a', provider: 'ssh' }] };

// Both the CLI's zod schema and the JSON Schema editors read.
function acceptedBy(config: unknown): { cli: boolean; jsonSchema: boolean } {
  const jsonSchema = z.fromJSONSchema(configJsonSchema() as Parameters<typeof z.fromJSONSchema>[0]);
  return { cli: configSchema.safeParse(config).success, jsonSchema: jsonSchema.safeParse(config).success };
}

describe('one source for the config schema', () => {
  it('accepts every failover key core accepts, in the CLI config and the JSON Schema', () => {
    const defaults = failoverSchema.parse({}) as Record<string, unknown>;
    const keys = Object.keys(failoverSchema.shape);
    expect(keys).toContain('drainBeforeRestart');
    for (const key of keys) {
      const sample = defaults[key] ?? 1000;
      expect(failoverSchema.safeParse({ [key]: sample }).success, key).toBe(true);
      expect(acceptedBy({ ...base, failover: { [key]: sample } }), key).toEqual({
        cli: true,
        jsonSchema: true,
      });
    }
    expect(acceptedBy({ ...base, failover: { drainBeforeRestart: '5s' } })).toEqual({
      cli: true,
      jsonSchema: true,
    });
    // The check can fail: an unknown key is refused by both.
    expect(acceptedBy({ ...base, failover: { drainBefore: '5s' } })).toEqual({
      cli: false,
      jsonSchema: false,
    });
  });

  it('accepts every path key core accepts, in the CLI config and the JSON Schema', () => {
    expect(Object.keys(pathSchema.shape).sort()).toEqual(Object.keys(PATH_SAMPLES).sort());
    for (const [key, sample] of Object.entries(PATH_SAMPLES)) {
      const path = { id: 'a', provider: 'ssh', [key]: sample };
      expect(pathSchema.safeParse(path).success, key).toBe(true);
      expect(acceptedBy({ ...base, paths: [path] }), key).toEqual({ cli: true, jsonSchema: true });
    }
    expect(acceptedBy({ ...base, paths: [{ id: 'a', provider: 'ssh', bogus: 1 }] })).toEqual({
      cli: false,
      jsonSchema: false,
    });
  });
});
