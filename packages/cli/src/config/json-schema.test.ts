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
    expect(schema.anyOf).toEqual([{ required: ['paths'] }, { required: ['expose'] }]);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['listen', 'target', 'protocol', 'failover', 'paths', 'plugins', 'expose']),
    );
    expect(schema.properties.protocol.enum).toEqual(['ssh', 'tcp']);
  });
});
