import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './load';
import { placeholderHost, preflight } from './preflight';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-preflight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function findings(text: string, env: NodeJS.ProcessEnv = {}) {
  const file = path.join(dir, 'tunnelmux.yaml');
  writeFileSync(file, text);
  return preflight(loadConfig(file), env);
}

describe('preflight: what up would trip on that no schema sees', () => {
  it("finds init's placeholder hosts wherever they are written", () => {
    const result = findings(
      [
        'listen: 127.0.0.1:2222',
        'target: devbox.example:22',
        'paths:',
        '  - { id: cf, provider: cloudflare, options: { hostname: ssh.example.com } }',
        '  - { id: ng, provider: ngrok, options: { address: "tcp://0.tcp.example.net:1234" } }',
        '  - { id: j, provider: ssh, target: real.internal:22, options: { host: jump.corp.internal } }',
      ].join('\n'),
    );
    expect(result.map((f) => [f.check, f.detail.replace(/^.*?tunnelmux\.yaml:/, '')])).toEqual([
      ['placeholder', '2:9: target is still the placeholder "devbox.example" (example names never resolve)'],
      [
        'placeholder',
        '4:58: paths.0.options.hostname is still the placeholder "ssh.example.com" (example names never resolve)',
      ],
      [
        'placeholder',
        '5:52: paths.1.options.address is still the placeholder "0.tcp.example.net" (example names never resolve)',
      ],
    ]);
  });

  it('recognises only reserved example names', () => {
    expect(placeholderHost('jump.example.com')).toBe('jump.example.com');
    expect(placeholderHost('me@host.invalid')).toBe('host.invalid');
    for (const real of [
      'example.company.com',
      'myexample.com',
      'devbox.internal',
      'examples.org',
      '10.0.0.5',
    ]) {
      expect(placeholderHost(real), real).toBeUndefined();
    }
  });

  it('names an unset variable a provider reads (an option ending in Env), never a value', () => {
    const text = [
      'target: devbox.internal:22',
      'paths:',
      '  - id: cf',
      '    provider: cloudflare',
      '    options: { hostname: ssh.corp.dev, serviceTokenIdEnv: CF_ID, serviceTokenSecretEnv: CF_SECRET }',
    ].join('\n');
    const unset = findings(text, { CF_ID: 'id-value-123' });
    expect(unset).toEqual([
      {
        check: 'environment',
        detail: expect.stringMatching(
          /tunnelmux\.yaml:5:\d+: path "cf" reads CF_SECRET \(option "serviceTokenSecretEnv"\), which is not set in this environment$/,
        ),
        fix: 'set CF_SECRET where tunnelmux up runs (e.g. export CF_SECRET=…), or point "serviceTokenSecretEnv" at a variable that is set',
      },
    ]);
    expect(JSON.stringify(unset)).not.toContain('id-value-123');
    expect(findings(text, { CF_ID: 'a', CF_SECRET: 'b' })).toEqual([]);
    // Set but empty is as good as unset: the provider trims and refuses it.
    expect(findings(text, { CF_ID: 'a', CF_SECRET: '  ' })).toHaveLength(1);
  });

  it('checks the variables of expose paths too', () => {
    const result = findings(
      'expose: { port: 22, via: [ngrok], options: { ngrok: { authtokenEnv: MY_NGROK_TOKEN } } }\n',
    );
    expect(result.map((f) => f.detail)).toEqual([
      expect.stringMatching(/:1:\d+: path "ngrok" reads MY_NGROK_TOKEN \(option "authtokenEnv"\)/),
    ]);
  });

  it('warns about a front door on every interface, and only warns', () => {
    const base =
      'target: devbox.internal:22\npaths: [{ id: a, provider: ssh, options: { host: j.internal } }]\n';
    expect(findings(`listen: 0.0.0.0:2222\n${base}`)).toEqual([
      {
        check: 'listen',
        warning: true,
        detail: expect.stringContaining(
          'the front door listens on 0.0.0.0:2222, every interface: anyone who reaches it gets through the tunnels',
        ),
        fix: 'listen on 127.0.0.1 unless other machines must connect (then firewall the port)',
      },
    ]);
    expect(findings(`listen: 127.0.0.1:2222\n${base}`)).toEqual([]);
  });

  it('warns about failover settings that defeat each other', () => {
    const base =
      'target: devbox.internal:22\npaths: [{ id: a, provider: ssh, options: { host: j.internal } }]\n';
    const result = findings(
      `failover: { timeout: 1s, maxLatency: 2s, backoffInitial: 1m, backoffMax: 30s }\n${base}`,
    );
    expect(result.map((f) => [f.check, f.warning, f.detail.replace(/^.*?tunnelmux\.yaml:/, '')])).toEqual([
      [
        'failover',
        true,
        '1:38: failover.maxLatency (2000 ms) is above failover.timeout (1000 ms), so a slow probe times out before it can count as slow',
      ],
      [
        'failover',
        true,
        '1:58: failover.backoffInitial (60000 ms) is above failover.backoffMax (30000 ms), so every restart waits backoffMax',
      ],
    ]);
    expect(findings(`failover: { timeout: 2s, maxLatency: 1s }\n${base}`)).toEqual([]);
  });
});
