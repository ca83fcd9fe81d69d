import { describe, expect, it } from 'vitest';
import { diagnoseTunnelLine, fatalExitReason, type TunnelDiagnosis } from './expose';
import { parseLogLine } from './log-parser';

const fresh = (): TunnelDiagnosis => ({ badToken: false, shuttingDown: false });
const read = (lines: string[]) => {
  const seen = fresh();
  for (const line of lines) diagnoseTunnelLine(parseLogLine(line), seen);
  return seen;
};

// Lines as cloudflared prints them (docs/reference: tunnel/quick_tunnel.go, supervisor/supervisor.go).
const BOX = [
  '2024-06-23T18:35:10Z INF Requesting new quick Tunnel on trycloudflare.com...',
  '2024-06-23T18:35:10Z INF +--------------------------------------------------------------------------------------------+',
  '2024-06-23T18:35:10Z INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |',
  '2024-06-23T18:35:10Z INF |  https://retail-curves-bernard-affairs.trycloudflare.com                                   |',
  '2024-06-23T18:35:10Z INF +--------------------------------------------------------------------------------------------+',
];
const UNAUTHORIZED = [
  '2026-08-26T20:07:40Z ERR Register tunnel error from server side error="Unauthorized: Invalid tunnel secret" connIndex=0 event=0 ip=198.41.200.13',
  '2026-08-26T20:07:41Z ERR Initiating shutdown error="Unauthorized: Invalid tunnel secret"',
];

describe('reading cloudflared tunnel lines', () => {
  it('takes the quick tunnel URL from the log box', () => {
    expect(read(BOX).quickUrl).toBe('https://retail-curves-bernard-affairs.trycloudflare.com');
  });

  it('does not take other box rows or URLs for the quick tunnel', () => {
    expect(
      read([BOX[1]!, BOX[2]!, '2024-06-23T18:35:10Z INF see https://example.com']).quickUrl,
    ).toBeUndefined();
  });

  it('recognises the malformed token message (raw urfave text)', () => {
    expect(
      read(['Provided Tunnel token is not valid.', "See 'cloudflared tunnel run --help'."]).badToken,
    ).toBe(true);
  });

  it('recognises an Unauthorized edge and the give-up', () => {
    const seen = read(UNAUTHORIZED);
    expect(seen.unauthorized).toBe('Unauthorized: Invalid tunnel secret');
    expect(seen.shuttingDown).toBe(true);
  });
});

describe('fatalExitReason', () => {
  it('is fatal for exit 1 after Unauthorized', () => {
    const reason = fatalExitReason({ code: 1, signal: null, lastLines: UNAUTHORIZED }, read(UNAUTHORIZED));
    expect(reason).toContain(
      "Cloudflare's edge refused the tunnel token (Unauthorized: Invalid tunnel secret)",
    );
  });

  it('is fatal for a malformed token even when only the last lines show it', () => {
    const lines = ['Provided Tunnel token is not valid.'];
    expect(fatalExitReason({ code: 255, signal: null, lastLines: lines }, fresh())).toContain('malformed');
  });

  it('is not fatal for a crash, a kill, or a clean stop', () => {
    const seen = read(UNAUTHORIZED);
    expect(fatalExitReason({ code: 2, signal: null, lastLines: ['panic: x'] }, fresh())).toBeUndefined();
    expect(fatalExitReason({ code: null, signal: 'SIGKILL', lastLines: [] }, seen)).toBeUndefined();
    expect(fatalExitReason({ code: 0, signal: null, lastLines: [] }, seen)).toBeUndefined();
  });
});
