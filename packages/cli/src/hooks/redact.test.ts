import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load';
import { redactHeaders, redactUrl, scrub, webhookSecrets } from './redact';
import { describeHook } from './schema';

describe('redaction of webhook secrets', () => {
  it('masks userinfo, every query value and the fragment, and keeps the rest', () => {
    expect(redactUrl('https://bot:s3cret@hooks.example.com:8443/a/b?token=abc&x=1#frag')).toBe(
      'https://***:***@hooks.example.com:8443/a/b?token=***&x=***#***',
    );
    expect(redactUrl('https://hooks.slack.com/services/T000/B000')).toBe(
      'https://hooks.slack.com/services/T000/B000',
    );
    expect(redactUrl('not a url with secret')).toBe('***');
  });

  it('masks header values, never names', () => {
    expect(redactHeaders({ Authorization: 'Bearer x', 'X-Team': 'ops' })).toEqual({
      Authorization: '***',
      'X-Team': '***',
    });
  });

  it('scrubs secrets and URLs from free text such as an error message', () => {
    const url = 'https://u:pw-123@example.com/h?key=k-456';
    const secrets = webhookSecrets(url, { Authorization: 'Bearer tok-789' });
    const text = scrub(`fetch ${url} failed; echoed pw-123 k-456 Bearer tok-789`, secrets);
    for (const secret of ['pw-123', 'k-456', 'tok-789']) expect(text).not.toContain(secret);
    expect(text).toContain('https://***:***@example.com/h?key=***');
  });

  it('names a hook without its secrets', () => {
    expect(describeHook({ webhook: 'https://h.example/x?token=abc' })).toBe(
      'webhook https://h.example/x?token=***',
    );
    expect(describeHook({ command: ['notify.sh', '--token', 'abc'] })).toBe('command notify.sh');
  });

  it('keeps secrets out of config errors about a hook', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-redact-'));
    try {
      const file = path.join(dir, 'tunnelmux.yaml');
      writeFileSync(
        file,
        [
          'target: 127.0.0.1:22',
          'paths: [{ id: a, provider: local }]',
          'on:',
          '  failover:',
          '    - { webhook: "ftp://me:hunter2@example.com/?token=zzz-top" }',
          '    - { webhook: "https://example.com/", headers: { Authorization: 7 } }',
          '    - { webhook: "https://example.com/", hedaers: { Authorization: "Bearer leaked-1" } }',
        ].join('\n'),
      );
      let message = '';
      try {
        loadConfig(file);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/on\.failover\.0\.webhook must be an http:\/\/ or https:\/\/ URL/);
      expect(message).toMatch(/on\.failover\.2\.hedaers is not a known field/);
      for (const secret of ['hunter2', 'zzz-top', 'leaked-1']) expect(message).not.toContain(secret);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown event type in on:', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-redact-'));
    try {
      const file = path.join(dir, 'tunnelmux.yaml');
      writeFileSync(
        file,
        [
          'target: 127.0.0.1:22',
          'paths: [{ id: a, provider: local }]',
          'on:',
          '  failovr: [{ command: [x] }]',
        ].join('\n'),
      );
      expect(() => loadConfig(file)).toThrow(
        /on\.failovr is not a known field; expected one of \*, state-change, .*failover/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
