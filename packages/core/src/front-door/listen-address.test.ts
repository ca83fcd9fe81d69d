import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors';
import { checkListenHost, isLoopback } from './listen-address';

describe('isLoopback', () => {
  it.each(['localhost', '::1', '::ffff:127.0.0.1', '127.0.0.1', '127.255.10.9'])('%s is loopback', (host) => {
    expect(isLoopback(host)).toBe(true);
  });

  it.each([
    '0.0.0.0',
    '10.0.0.1',
    '128.0.0.1',
    '1.127.0.1',
    '::',
    '',
    // Names are not addresses: only `localhost` is trusted to be loopback.
    '127.example.com',
    'localhost.example.com',
    '::ffff:10.0.0.1',
  ])('%s is not loopback', (host) => {
    expect(isLoopback(host)).toBe(false);
  });
});

describe('checkListenHost', () => {
  it('accepts a loopback host, and any host when all interfaces are allowed', () => {
    expect(() => checkListenHost('127.0.0.1', false)).not.toThrow();
    expect(() => checkListenHost('0.0.0.0', true)).not.toThrow();
  });

  it('refuses another host, naming it, what was expected and how to allow it', () => {
    let error: unknown;
    try {
      checkListenHost('0.0.0.0', false);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ field: 'front door listen host', value: '0.0.0.0' });
    const message = (error as Error).message;
    expect(message).toContain('front door listen host must be a loopback address such as 127.0.0.1');
    expect(message).toContain('0.0.0.0');
    expect(message).toContain(
      'binding other interfaces exposes the port to the network; pass allowAllInterfaces: true (CLI: --listen-any) if you mean it',
    );
  });
});
