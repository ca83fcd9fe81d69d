import { anyOptions, anyText, checkOptionsVerdict, FUZZ_RUNS } from '@tunnelmux/testkit/fuzz';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainSshFailure } from './explain';
import ssh, { parseSshVersion } from './index';
import { sshOptionsSchema } from './options';

// What ssh prints and what a user writes under `options:`, fuzzed; fast-check prints a failure's seed.
const sshLine = fc.oneof(
  anyText,
  fc.constantFrom(
    'Permission denied (publickey).',
    'Host key verification failed.',
    'ssh: connect to host x port 22: Connection refused',
    'channel 2: open failed: connect failed: Connection refused',
    'bind [127.0.0.1]:2222: Address already in use',
    'Enter passphrase for key',
  ),
);

describe('ssh parsers, fuzzed', () => {
  it('parseSshVersion: a version, or nothing', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.stringMatching(/^OpenSSH_\d\.\d(p\d)?[ ,\w.-]{0,20}$/)), (text) => {
        const version = parseSshVersion(text);
        if (version) expect(version).toMatch(/^[0-9][\w.]*$/);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('explainSshFailure: a message for any stderr', () => {
    fc.assert(
      fc.property(fc.array(sshLine, { maxLength: 6 }), (lines) => {
        const explanation = explainSshFailure(lines, {
          destination: 'me@jump.example.com:22',
          host: 'jump.example.com',
          port: 22,
          localPort: 40000,
        });
        expect(explanation.message.length).toBeGreaterThan(0);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('options: accepted, or a ConfigError naming the path and field', async () => {
    await fc.assert(
      fc.asyncProperty(anyOptions(sshOptionsSchema), (options) => checkOptionsVerdict(ssh, options)),
      { numRuns: FUZZ_RUNS },
    );
  }, 300_000);
});
