import { describe, expect, it } from 'vitest';
import { diagnose } from './access';
import { parseLogLine } from './log-parser';

// Lines copied from the reference (tunnel-clis.md §1), as cloudflared prints them off a TTY.
describe('parseLogLine', () => {
  it('reads the listener line: level, message and field', () => {
    expect(parseLogLine('2026-08-20T10:00:00Z INF Start Websocket listener host=127.0.0.1:2222')).toEqual({
      time: '2026-08-20T10:00:00Z',
      level: 'info',
      rawLevel: 'INF',
      message: 'Start Websocket listener',
      fields: { host: '127.0.0.1:2222' },
    });
  });

  it('unquotes Go-quoted values with spaces and keeps field order', () => {
    const entry = parseLogLine(
      '2026-08-20T10:00:05Z ERR failed to connect to origin error="websocket: bad handshake" originURL=https://ssh.example.com',
    );
    expect(entry.level).toBe('error');
    expect(entry.message).toBe('failed to connect to origin');
    expect(entry.fields).toEqual({ error: 'websocket: bad handshake', originURL: 'https://ssh.example.com' });
  });

  it('reads the bind failure', () => {
    const entry = parseLogLine(
      '2026-08-20T10:00:00Z ERR Error on Websocket listener error="failed to start forwarding server: listen tcp 127.0.0.1:2222: bind: address already in use"',
    );
    expect(entry.message).toBe('Error on Websocket listener');
    expect(entry.fields.error).toBe(
      'failed to start forwarding server: listen tcp 127.0.0.1:2222: bind: address already in use',
    );
  });

  it('reads tunnel-side lines with several fields', () => {
    const entry = parseLogLine(
      '2026-08-26T20:07:40Z INF Registered tunnel connection connIndex=0 connection=7dc4ace9-1ce7-42f9-98a2-ecc14c6987d7 event=0 ip=198.41.200.13 location=fra08 protocol=quic',
    );
    expect(entry.message).toBe('Registered tunnel connection');
    expect(entry.fields).toEqual({
      connIndex: '0',
      connection: '7dc4ace9-1ce7-42f9-98a2-ecc14c6987d7',
      event: '0',
      ip: '198.41.200.13',
      location: 'fra08',
      protocol: 'quic',
    });
  });

  it('keeps a message without fields whole (the quick-tunnel box)', () => {
    const entry = parseLogLine(
      '2024-06-23T18:35:10Z INF |  https://retail-curves-bernard-affairs.trycloudflare.com  |',
    );
    expect(entry.message).toBe('|  https://retail-curves-bernard-affairs.trycloudflare.com  |');
    expect(entry.fields).toEqual({});
  });

  it('maps every level: DBG→debug, WRN→warn, ERR and FTL→error', () => {
    expect(parseLogLine('2026-08-20T10:00:00Z DBG x').level).toBe('debug');
    expect(parseLogLine('2026-08-20T10:00:00Z WRN Retrying connection in up to 4s').level).toBe('warn');
    expect(parseLogLine('2026-08-20T10:00:00Z FTL boom').level).toBe('error');
    expect(parseLogLine('2026-08-20T10:00:00Z ERR Initiating shutdown error="x y"').level).toBe('error');
  });

  it('reads a line with only fields (zerolog Send without a message)', () => {
    expect(parseLogLine('2026-08-20T10:00:00Z ERR error="no input provided"')).toMatchObject({
      level: 'error',
      message: '',
      fields: { error: 'no input provided' },
    });
  });

  it('reads --output json lines', () => {
    const entry = parseLogLine(
      '{"level":"info","time":"2026-08-20T10:00:00Z","message":"Start Websocket listener","host":"127.0.0.1:2222"}',
    );
    expect(entry).toMatchObject({
      level: 'info',
      message: 'Start Websocket listener',
      fields: { host: '127.0.0.1:2222' },
    });
  });

  it('passes raw text through at info (urfave errors, the login prompt)', () => {
    expect(parseLogLine('A browser window should have opened at the following URL:')).toEqual({
      level: 'info',
      message: 'A browser window should have opened at the following URL:',
      fields: {},
    });
  });

  it('strips colour codes a forced TTY would add', () => {
    const entry = parseLogLine(
      '\u001b[90m2026-08-20T10:00:00Z\u001b[0m \u001b[32mINF\u001b[0m Start Websocket listener host=127.0.0.1:1',
    );
    expect(entry).toMatchObject({ level: 'info', message: 'Start Websocket listener' });
  });
});

describe('diagnose', () => {
  const host = 'ssh.example.com';
  it('turns a per-connection failure into a dial-failure reason naming the origin and error', () => {
    const entry = parseLogLine(
      '2026-08-20T10:00:05Z ERR failed to connect to origin error="websocket: bad handshake" originURL=https://ssh.example.com',
    );
    expect(diagnose(entry, host)).toEqual({
      kind: 'dial-failure',
      reason: 'cloudflared could not reach https://ssh.example.com: websocket: bad handshake',
    });
  });

  it('recognises the login prompt, headless or not', () => {
    expect(diagnose(parseLogLine('A browser window should have opened at the following URL:'), host)).toEqual(
      {
        kind: 'login',
      },
    );
    expect(
      diagnose(parseLogLine('Please open the following URL and log in with your Cloudflare account:'), host),
    ).toEqual({ kind: 'login' });
  });

  it('recognises the listener failure', () => {
    const entry = parseLogLine(
      '2026-08-20T10:00:00Z ERR Error on Websocket listener error="failed to start forwarding server: listen tcp 127.0.0.1:2222: bind: address already in use"',
    );
    expect(diagnose(entry, host)).toMatchObject({ kind: 'bind' });
  });

  it('ignores ordinary lines', () => {
    expect(
      diagnose(parseLogLine('2026-08-20T10:00:00Z INF Start Websocket listener host=127.0.0.1:2222'), host),
    ).toBe(undefined);
  });
});
