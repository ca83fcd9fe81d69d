import { ConfigError, validateOptions } from '@tunnelmux/core';
import { describe, expect, it } from 'vitest';
import tailscale from './index';

describe('options', () => {
  it('fills the defaults', async () => {
    expect(await validateOptions(tailscale, { host: 'devbox' })).toEqual({
      host: 'devbox',
      dial: 'auto',
      pollInterval: 5000,
    });
  });

  it('accepts an expose path with no options at all: it publishes its target port', async () => {
    expect(await validateOptions(tailscale, {}, { mode: 'expose' })).toEqual({
      dial: 'auto',
      pollInterval: 5000,
    });
    expect(
      await validateOptions(tailscale, { publicPort: 2222, health: 'check' }, { mode: 'expose' }),
    ).toMatchObject({
      publicPort: 2222,
      health: 'check',
    });
  });

  it('reads pollInterval as a Go-style duration or milliseconds', async () => {
    expect((await validateOptions(tailscale, { host: 'devbox', pollInterval: '500ms' })).pollInterval).toBe(
      500,
    );
    expect((await validateOptions(tailscale, { host: 'devbox', pollInterval: 2000 })).pollInterval).toBe(
      2000,
    );
  });

  it.each([
    [{ host: '' }, 'host'],
    [{ host: '-oProxyCommand=x' }, 'host'],
    [{ host: 'dev box' }, 'host'],
    [{ host: 'devbox', port: 0 }, 'port'],
    [{ host: 'devbox', port: 70_000 }, 'port'],
    [{ host: 'devbox', port: '22' }, 'port'],
    [{ host: 'devbox', dial: 'socks5' }, 'dial'],
    [{ host: 'devbox', socket: '' }, 'socket'],
    [{ host: 'devbox', pollInterval: '10 minutes' }, 'pollInterval'],
    [{ host: 'devbox', pollInterval: 5 }, 'pollInterval'],
    [{ publicPort: 0 }, 'publicPort'],
    [{ publicPort: 2222.5 }, 'publicPort'],
    [{ health: 'ping' }, 'health'],
    [{ host: 'devbox', authKey: 'tskey-auth-x' }, '(options)'],
  ])('rejects %j, naming %s', async (options, field) => {
    const error = await validateOptions(tailscale, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    // Unknown keys are reported for the whole object (`options: Unrecognized key …`), without echoing values.
    expect((error as ConfigError).message).toMatch(/^\[tunnelmux\] \[tailscale\] options?\b/);
    expect((error as ConfigError).field).toBe(field);
  });
});
