import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineProvider, validateOptions } from '../provider/define-provider';
import { ConfigError, clip, describeValue, isSecretField, ProviderError } from './errors';

describe('errors', () => {
  it('quote the bad value with its type', () => {
    expect(describeValue('abc')).toBe('"abc" (string)');
    expect(describeValue(-1)).toBe('-1 (number)');
    expect(describeValue(undefined)).toBe('nothing');
    expect(ConfigError.invalid('option "port"', 'x', 'a port number').message).toBe(
      '[tunnelmux] option "port" must be a port number, got "x" (string)',
    );
  });

  it('clip a huge value to 200 characters and say how many were left out', () => {
    const huge = 'x'.repeat(4_000_000);
    expect(describeValue(huge)).toBe(`"${'x'.repeat(200)}"… (3999800 more) (string)`);
    expect(ConfigError.invalid('option "host"', huge, 'a host').message.length).toBeLessThan(300);
    expect(describeValue('y'.repeat(200))).toBe(`"${'y'.repeat(200)}" (string)`);
    expect(clip(`${'a'.repeat(199)}😀tail`)).toBe(`${'a'.repeat(199)}… (6 more)`);
  });

  it('carry the provider prefix and keep the cause', () => {
    const cause = new Error('EACCES');
    const error = new ProviderError('cannot run cloudflared', { provider: 'cloudflare', cause, fatal: true });
    expect(error.message).toBe('[tunnelmux] [cloudflare] cannot run cloudflared');
    expect(error.cause).toBe(cause);
    expect(error.fatal).toBe(true);
  });

  it('never echo the value of a secret-looking option', async () => {
    expect(isSecretField('serviceTokenSecret')).toBe(true);
    expect(isSecretField('options.password')).toBe(true);
    expect(isSecretField('hostname')).toBe(false);
    const provider = defineProvider({
      apiVersion: 1,
      name: 'demo',
      summary: 'd',
      access: {
        options: z.object({ authToken: z.string().min(20), port: z.number() }).strict(),
        open: async () => {
          throw new Error('unused');
        },
      },
    });
    const error = (await validateOptions(provider, { authToken: 'hunter2', port: 'x' }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('option "authToken": ');
    expect(error.message).toContain('got a string (value hidden)');
    expect(error.message).toContain('option "port": ');
    expect(error.message).toContain('got "x" (string)');
  });
});
