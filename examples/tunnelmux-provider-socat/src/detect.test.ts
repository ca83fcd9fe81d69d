import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDetectContext } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import socat, { parseSocatVersion } from './index';

describe('parseSocatVersion', () => {
  it('reads the version from the second line of socat -V', () => {
    const output = [
      'socat by Gerhard Rieger and contributors - see www.dest-unreach.org',
      'socat version 1.7.4.4 on 06 Nov 2022 08:15:51',
      '   running on Linux version #1 SMP PREEMPT_DYNAMIC, release 6.1.0, machine x86_64',
      'features:',
    ].join('\n');
    expect(parseSocatVersion(output)).toBe('1.7.4.4');
  });

  it('reads the 1.8 series', () => {
    const output =
      'socat by Gerhard Rieger and contributors - see www.dest-unreach.org\nsocat version 1.8.0.0 on 2023-11-20 15:08:46\n';
    expect(parseSocatVersion(output)).toBe('1.8.0.0');
  });

  // A different tool that happens to be called socat must not pass for it.
  it('refuses output that is not socat', () => {
    expect(parseSocatVersion('version 1.2.3\n')).toBeUndefined();
    expect(parseSocatVersion('socat by someone\nno version here\n')).toBeUndefined();
  });
});

describe('detect', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'socat-detect-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('finds the system socat and its version', async () => {
    const result = await socat.detect(createDetectContext());
    expect(result.available, result.detail).toBe(true);
    expect(result.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(result.path).toMatch(/socat$/);
  });

  it('says where it looked and how to install when socat is missing', async () => {
    const result = await socat.detect(createDetectContext({ ...process.env, PATH: dir }));
    expect(result.available).toBe(false);
    expect(result.detail).toBe('socat not found on PATH');
    expect(result.install).toContain('apt-get install socat');
  });

  // An executable named socat that prints something else is reported, not trusted.
  it('reports a bin that is not socat', async () => {
    const impostor = path.join(dir, 'socat');
    await writeFile(impostor, '#!/bin/sh\necho "netcat 1.10"\n');
    await chmod(impostor, 0o755);
    const result = await socat.detect(createDetectContext(process.env, impostor));
    expect(result.available).toBe(false);
    expect(result.path).toBe(impostor);
    expect(result.detail).toContain('did not print a socat version');
  });
});
