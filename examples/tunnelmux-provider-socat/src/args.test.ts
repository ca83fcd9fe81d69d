import { describe, expect, it } from 'vitest';
import { socatArgs, socatOptions } from './index';
import { explainStartFailure, forkedChild, isConnectFailure, parseSocatLine } from './log-line';

describe('socatArgs', () => {
  it('listens on bind:port with fork, and connects to the target with the extra options', () => {
    const options = socatOptions.parse({ extraAddressOptions: ['nodelay', 'connect-timeout=5'] });
    expect(socatArgs(options, 40123, { host: 'devbox.internal', port: 22 })).toEqual([
      '-d',
      '-d',
      'TCP-LISTEN:40123,bind=127.0.0.1,reuseaddr,fork',
      'TCP:devbox.internal:22,nodelay,connect-timeout=5',
    ]);
  });

  // socat reads an unbracketed IPv6 address as host:port pieces.
  it('brackets an IPv6 target', () => {
    expect(socatArgs(socatOptions.parse({}), 1, { host: '::1', port: 22 }).at(-1)).toBe('TCP:[::1]:22');
  });
});

describe('socat diagnostic lines', () => {
  it('parses the listener and relay lines socat -d -d prints', () => {
    expect(parseSocatLine('2026/11/25 18:19:11 socat[22009] N listening on AF=2 127.0.0.1:45123')).toEqual({
      pid: 22009,
      level: 'N',
      message: 'listening on AF=2 127.0.0.1:45123',
    });
    expect(forkedChild('forked off child process 22011')).toBe(22011);
    expect(parseSocatLine('features:')).toBeUndefined();
  });

  it('tells a failed connect from other relay errors', () => {
    expect(isConnectFailure('connect(5, AF=2 127.0.0.1:22, 16): Connection refused')).toBe(true);
    expect(isConnectFailure('getaddrinfo("nohost", "NULL", {1,2,1,6}, {}): Name or service not known')).toBe(
      true,
    );
    expect(isConnectFailure('read(6, 0x55d0, 8192): Connection reset by peer')).toBe(false);
  });

  it('explains a bind failure, fatal only when retrying cannot help', () => {
    const listen = { host: '127.0.0.1', port: 2222 };
    const inUse = [
      '2026/11/25 18:19:13 socat[22077] E bind(5, {AF=2 127.0.0.1:2222}, 16): Address already in use',
    ];
    expect(explainStartFailure(inUse, listen, true)).toMatchObject({ fatal: false });
    expect(explainStartFailure(inUse, listen, true).message).toContain('the port is in use');
    const notMine = [
      '2026/11/25 18:19:13 socat[1] E bind(5, {AF=2 10.9.9.9:2222}, 16): Cannot assign requested address',
    ];
    expect(explainStartFailure(notMine, { host: '10.9.9.9', port: 2222 }, false)).toMatchObject({
      fatal: true,
    });
    expect(explainStartFailure([], listen, false)).toEqual({
      message: 'socat exited before listening on 127.0.0.1:2222',
      fatal: false,
    });
  });
});
