import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchemaText } from './json-schema';

describe('schema/tunnelmux.schema.json', () => {
  it('is up to date with the zod schema (run `pnpm --filter @tunnelmux/cli build` to refresh it)', () => {
    // Compared as data: the formatter may re-wrap the file's text.
    const shipped = JSON.parse(
      readFileSync(new URL('../../schema/tunnelmux.schema.json', import.meta.url), 'utf8'),
    );
    expect(shipped).toEqual(JSON.parse(configJsonSchemaText()));
  });

  it('describes the fields editors complete', () => {
    const schema = JSON.parse(configJsonSchemaText());
    expect(schema.anyOf).toEqual([
      { required: ['paths'] },
      { required: ['expose'] },
      { required: ['services'] },
    ]);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['listen', 'target', 'protocol', 'failover', 'paths', 'plugins', 'expose']),
    );
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['services', 'strategy', 'drain']));
    // Each service is written like the single-service form, keyed by a checked name.
    const service = schema.properties.services.additionalProperties;
    expect(Object.keys(service.properties)).toEqual(
      expect.arrayContaining([
        'listen',
        'target',
        'protocol',
        'strategy',
        'failover',
        'resume',
        'drain',
        'paths',
      ]),
    );
    expect(service.required).toEqual(['paths']);
    expect(schema.properties.services.propertyNames.pattern).toBe('^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$');
    expect(schema.properties.strategy.enum).toEqual(['priority', 'latency']);
    // expose: one port, or a list of ports.
    expect(schema.properties.expose.anyOf.map((s: { type: string }) => s.type)).toEqual(['object', 'array']);
    expect(schema.properties.protocol.enum).toEqual(['ssh', 'tcp']);
  });
});
