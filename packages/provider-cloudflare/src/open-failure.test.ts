import { ProviderError } from '@tunnelmux/core';
import { describe, expect, it } from 'vitest';
import { openFailure } from './access';

// What cloudflared prints when its listener cannot bind (carrier.StartForwarder, then urfave's error print).
const BIND_LINES = [
  '2026-08-20T10:00:00Z INF Start Websocket listener host=127.0.0.1:2222',
  '2026-08-20T10:00:00Z ERR Error on Websocket listener error="failed to start forwarding server: listen tcp 127.0.0.1:2222: bind: address already in use"',
  'failed to start forwarding server: listen tcp 127.0.0.1:2222: bind: address already in use',
];
const base = {
  error: new Error('gave up waiting for 127.0.0.1:2222: the process ended'),
  loginSeen: false,
  listen: { host: '127.0.0.1', port: 2222 },
  hostname: 'ssh.example.com',
  pathId: 'cf',
};

describe('openFailure', () => {
  it('turns an early bind failure into a fatal error when the user chose the port', () => {
    const error = openFailure({
      ...base,
      fixedPort: true,
      info: { code: 1, signal: null, lastLines: BIND_LINES },
    });
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.fatal).toBe(true);
    expect(error.message).toBe(
      '[tunnelmux] [cloudflare] cloudflared could not listen on 127.0.0.1:2222 (failed to start forwarding server: ' +
        'listen tcp 127.0.0.1:2222: bind: address already in use): free port 2222, or change option "port" ' +
        '(or remove it to let tunnelmux pick a free port)',
    );
    expect(error.lastLines).toEqual(BIND_LINES);
  });

  it('retries a bind failure on a port tunnelmux picked (a race a new port fixes)', () => {
    const error = openFailure({
      ...base,
      fixedPort: false,
      info: { code: 1, signal: null, lastLines: BIND_LINES },
    });
    expect(error.fatal).toBe(false);
    expect(error.message).toContain('address already in use');
  });

  it('prefers the ERR line field when the line handler saw it', () => {
    const error = openFailure({
      ...base,
      fixedPort: true,
      bindFailure: 'failed to start forwarding server: listen tcp 127.0.0.1:2222: bind: permission denied',
      info: { code: 1, signal: null, lastLines: [] },
    });
    expect(error.message).toContain('bind: permission denied');
  });

  it('says login is needed when the prompt is among the last lines', () => {
    const error = openFailure({
      ...base,
      fixedPort: false,
      info: {
        code: null,
        signal: 'SIGTERM',
        lastLines: [
          'A browser window should have opened at the following URL:',
          '',
          'https://ssh.example.com/cdn-cgi/access/cli?x=1',
        ],
      },
    });
    expect(error.fatal).toBe(true);
    expect(error.message).toContain('"serviceTokenId" and "serviceTokenSecret"');
    expect(error.message).toContain('cloudflared access login https://ssh.example.com');
  });

  it('reports any other early exit, not fatal, with its code and last lines', () => {
    const lines = ['panic: boom', '', 'goroutine 1 [running]:'];
    const error = openFailure({
      ...base,
      fixedPort: false,
      info: { code: 2, signal: null, lastLines: lines },
    });
    expect(error.fatal).toBe(false);
    expect(error.message).toBe(
      '[tunnelmux] [cloudflare] cloudflared exited (code 2) before listening on 127.0.0.1:2222; last output: panic: boom |  | goroutine 1 [running]:',
    );
    expect(error.cause).toBe(base.error);
  });
});
