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

  it('reads pollInterval as a Go-style duration or milliseconds', async () => {
    expect((await validateOptions(tailscale, { host: 'devbox', pollInterval: '500ms' })).pollInterval).toBe(
      500,
    );
    expect((await validateOptions(tailscale, { host: 'devbox', pollInterval: 2000 })).pollInterval).toBe(
      2000,
    );
  });

  it.each([
    [{}, 'host'],
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
    [{ host: 'devbox', authKey: 'tskey-auth-x' }, '(options)'],
  ])('rejects %j, naming %s', async (options, field) => {
    const error = await validateOptions(tailscale, options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^\[tunnelmux\] \[tailscale\] option "/);
    expect((error as ConfigError).field).toBe(field);
  });
});
