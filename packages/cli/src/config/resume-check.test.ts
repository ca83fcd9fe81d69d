import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './load';
import { resumeFindings } from './resume-check';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-resume-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEY = `${'ab'.repeat(32)}\n`;

async function findings(resume: string | undefined, key?: { text: string; mode: number }) {
  const file = path.join(dir, 'tunnelmux.yaml');
  writeFileSync(
    file,
    [
      'target: 127.0.0.1:7022',
      'paths: [{ id: a, provider: ssh }]',
      ...(resume ? [`resume: ${resume}`] : []),
    ].join('\n'),
  );
  if (key) {
    writeFileSync(path.join(dir, 'session.key'), key.text);
    chmodSync(path.join(dir, 'session.key'), key.mode);
  }
  return resumeFindings(loadConfig(file));
}

describe('doctor: the resume key file', () => {
  it('is fine when it is 0600 and holds a key, and not checked without resume', async () => {
    expect(await findings('{ keyFile: session.key }', { text: KEY, mode: 0o600 })).toEqual([]);
    expect(await findings(undefined)).toEqual([]);
  });

  it('names the chmod that fixes a key file others can read, at the config line, without the key', async () => {
    const [finding] = await findings('{ keyFile: session.key }', { text: KEY, mode: 0o640 });
    expect(finding).toMatchObject({
      check: 'resume',
      detail: expect.stringMatching(
        /tunnelmux\.yaml:3:\d+: key file .*session\.key is readable by others \(mode 640\)/,
      ),
      fix: `chmod 600 ${path.join(dir, 'session.key')}`,
    });
    expect(JSON.stringify(finding)).not.toContain('ab'.repeat(32));
  });

  it('says how to make a key when the file is missing or holds no key', async () => {
    const [missing] = await findings('{ keyFile: nowhere.key }');
    expect(missing?.detail).toMatch(/cannot read key file .*nowhere\.key.*tunnelmux keygen/);
    const [garbage] = await findings('{ keyFile: session.key }', { text: 'not a key\n', mode: 0o600 });
    expect(garbage?.detail).toMatch(/does not hold a tunnelmux session key/);
    expect(garbage?.fix).toMatch(/tunnelmux keygen/);
  });
});
