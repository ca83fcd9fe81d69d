import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { configJsonSchema } from './json-schema';
import { ConfigFileError, loadConfig } from './load';

// Cases where the JSON Schema and the loader disagreed, found by load.fuzz.test.ts: an editor must not show a
// config as valid that `tunnelmux up` then refuses.
const validate = new Ajv2020({ strict: false }).compile(configJsonSchema());
const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-schema-agrees-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loaderAccepts(config: unknown): boolean {
  const file = path.join(dir, 'tunnelmux.json');
  writeFileSync(file, JSON.stringify(config));
  try {
    loadConfig(file);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigFileError);
    return false;
  }
}

const base = { paths: [{ id: 'a', provider: 'ssh' }] };

describe('the JSON Schema and the loader agree', () => {
  it.each([
    ['a target port above 65535', { ...base, target: 'devbox:99999' }],
    ['a target port 0', { ...base, target: 'devbox:0' }],
    ['a tab between a duration and its unit', { ...base, target: 'a:22', failover: { interval: '2\ts' } }],
    ['a form feed in a duration', { ...base, target: 'a:22', failover: { interval: '.0\fm' } }],
  ])('both refuse %s', (_what, config) => {
    expect(loaderAccepts(config)).toBe(false);
    expect(validate(config)).toBe(false);
  });

  it.each([
    ['a target port of 65535', { ...base, target: 'devbox:65535' }],
    [
      'spaces around a duration and before its unit',
      { ...base, target: 'a:22', failover: { interval: ' 2 s ' } },
    ],
  ])('both accept %s', (_what, config) => {
    expect(loaderAccepts(config)).toBe(true);
    expect(validate(config)).toBe(true);
  });
});
