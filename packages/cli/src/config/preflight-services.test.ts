import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './load';
import { preflight } from './preflight';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-preflight-services-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('preflight with services:', () => {
  it("checks every service's target, paths, environment and front door, pointing at the service's lines", () => {
    const file = path.join(dir, 'tunnelmux.yaml');
    writeFileSync(
      file,
      [
        'services:',
        '  ssh:',
        '    listen: 127.0.0.1:2222',
        '    target: devbox.example:22',
        '    paths: [{ id: a, provider: ssh, options: { host: real.internal } }]',
        '  db:',
        '    listen: 0.0.0.0:5432',
        '    target: db.internal:5432',
        '    paths: [{ id: a, provider: ngrok, options: { authtokenEnv: NO_SUCH_TOKEN } }]',
      ].join('\n'),
    );
    const result = preflight(loadConfig(file), {});
    expect(result.map((f) => [f.check, f.detail.replace(/^.*?tunnelmux\.yaml:/, '')])).toEqual([
      [
        'placeholder',
        '4:13: services.ssh.target is still the placeholder "devbox.example" (example names never resolve)',
      ],
      [
        'environment',
        '9:64: path "a" reads NO_SUCH_TOKEN (option "authtokenEnv"), which is not set in this environment',
      ],
      [
        'listen',
        '7:13: the front door of service db listens on 0.0.0.0:5432, every interface: anyone who reaches it gets through the tunnels',
      ],
    ]);
  });
});
