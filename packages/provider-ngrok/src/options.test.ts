import { ConfigError, validateOptions } from '@tunnelmux/core';
import { describe, expect, it } from 'vitest';
import provider from './index';

const bad = async (options: unknown) =>
  validateOptions(provider, options).then(
    () => undefined,
    (error: unknown) => error as ConfigError,
  );

describe('options', () => {
  it('says what a fixed address must look like, naming the bad value', async () => {
    const error = await bad({ address: '0.tcp.ngrok.io' });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toBe(
      '[tunnelmux] [ngrok] option "address": must look like tcp://host:port, got "0.tcp.ngrok.io" (string)',
    );
  });

  it.each([
    [{ address: 'tcp://0.tcp.ngrok.io:12345', authtokenEnv: 'MY_TOKEN' }, 'expose-mode option'],
    [{ id: 'ep_1', bin: '/usr/bin/ngrok' }, 'expose-mode option'],
    [{ authtokenEnv: 'NOT A NAME' }, 'environment variable name'],
    [{ config: [] }, 'config'],
    [{ startTimeout: 'soon' }, 'duration'],
    [{ address: 'tcp://0.tcp.ngrok.io:12345', metadata: 'ssh' }, 'cannot be combined with "address"'],
    [{ address: 'tcp://0.tcp.ngrok.io:70000' }, 'tcp://host:port'],
    [{ metadata: 'ssh', apiKeyEnv: 'NOT A NAME' }, 'environment variable name'],
    [{ metadata: 'ssh', apiUrl: 'http://api.example.com' }, 'https://'],
    [{ id: 'tn_123' }, 'endpoint id'],
    [{ metadata: 'ssh', refreshInterval: 'soon' }, 'duration'],
  ])('rejects %o', async (options, words) => {
    const error = await bad(options);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toContain('[tunnelmux] [ngrok]');
    expect(error?.message).toContain(words);
  });

  // An empty object is a valid expose path (access mode refuses it: see access.test.ts).
  it('accepts an empty object (a plain `ngrok tcp <port>` expose path) and normalises config to a list', async () => {
    expect(await validateOptions(provider, {}, { mode: 'expose' })).toMatchObject({ dialTimeout: 5000 });
    expect(
      (await validateOptions(provider, { config: '/etc/ngrok.yml', startTimeout: '3s' }, { mode: 'expose' }))
        .config,
    ).toEqual(['/etc/ngrok.yml']);
    expect(
      (
        await validateOptions(
          provider,
          { url: 'tcp://1.tcp.ngrok.io:20123', metadata: 'ssh' },
          { mode: 'expose' },
        )
      ).url,
    ).toBe('tcp://1.tcp.ngrok.io:20123');
  });

  it('fills in defaults', async () => {
    const options = await validateOptions(provider, { metadata: 'ssh', refreshInterval: '1m' });
    expect(options).toMatchObject({
      apiUrl: 'https://api.ngrok.com',
      apiKeyEnv: 'NGROK_API_KEY',
      refreshInterval: 60_000,
      resolveInterval: 2_000,
      maxPages: 20,
    });
    expect(
      (await validateOptions(provider, { address: 'tcp://[::1]:22', apiUrl: 'http://127.0.0.1:9/' })).apiUrl,
    ).toBe('http://127.0.0.1:9');
  });
});

describe('unknown options', () => {
  // .strict() quoted the whole options object, so a key pasted into the config ended up in the error.
  it('never echoes a secret pasted into the config', async () => {
    const error = await bad({ metadata: 'ssh', apiKey: 'pasted_secret_value' });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toContain('NGROK_API_KEY');
    expect(error?.message).not.toContain('pasted_secret_value');
  });

  it('points a pasted authtoken at NGROK_AUTHTOKEN', async () => {
    const error = await bad({ authtoken: 'pasted_token_value' });
    expect(error?.message).toContain('NGROK_AUTHTOKEN');
    expect(error?.message).not.toContain('pasted_token_value');
  });

  it('names an unknown option', async () => {
    expect((await bad({ metadata: 'ssh', region: 'eu' }))?.message).toContain(
      'option "region": is not an option',
    );
  });
});
