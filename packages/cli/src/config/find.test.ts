import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../util/errors';
import { findConfig } from './find';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-find-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusal(explicit: string): CliError {
  try {
    findConfig(explicit, dir);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('findConfig accepted it');
}

describe('findConfig', () => {
  it('names a --config that is a directory, says so, and exits 2 (not EISDIR, exit 1)', () => {
    mkdirSync(path.join(dir, 'empty'));
    const error = refusal('empty');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      `[tunnelmux] --config ${path.join(dir, 'empty')} is a directory, not a config file; pass a file such as --config ${path.join(dir, 'empty', 'tunnelmux.yaml')}`,
    );
  });

  it('points at the config inside a directory when there is one', () => {
    mkdirSync(path.join(dir, 'project'));
    writeFileSync(path.join(dir, 'project', 'tunnelmux.yml'), 'paths: []\n');
    expect(refusal('project').message).toContain(
      `pass the file itself: --config ${path.join(dir, 'project', 'tunnelmux.yml')}`,
    );
  });

  it('says a missing file does not exist', () => {
    const error = refusal('nope.yaml');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('does not exist');
  });
});
