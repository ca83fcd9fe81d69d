import { describe, expect, it } from 'vitest';
import { parseGoDuration } from './duration';
import { interpretPing, parsePong } from './ping';

describe('parsePong', () => {
  // The two lines from cli/ping.go as the reference records them.
  it('reads a DERP pong', () => {
    expect(parsePong('pong from kichijouji (100.108.132.113) via DERP(tok) in 39ms')).toEqual({
      name: 'kichijouji',
      ip: '100.108.132.113',
      via: 'DERP(tok)',
      path: 'derp',
      region: 'tok',
      latencyMs: 39,
    });
  });

  it('reads a direct pong', () => {
    expect(
      parsePong('pong from kichijouji (100.108.132.113) via 211.15.239.222:41641 in 38ms'),
    ).toMatchObject({
      path: 'direct',
      via: '211.15.239.222:41641',
      latencyMs: 38,
    });
  });

  it('reads peer-relay pongs, IPv6 endpoints and a peerapi port after the IP', () => {
    expect(parsePong('pong from box (100.64.0.9) via peer-relay(203.0.113.1:7777:vni:5) in 12ms')?.path).toBe(
      'peer-relay',
    );
    expect(parsePong('pong from box (100.64.0.9) via [2001:db8::1]:41641 in 1.234s')).toMatchObject({
      path: 'direct',
      latencyMs: 1234,
    });
    expect(parsePong('pong from box (100.64.0.9, 41112) via DERP(nyc) in 0s')).toMatchObject({
      ip: '100.64.0.9',
      latencyMs: 0,
    });
  });

  it('ignores every other line', () => {
    expect(parsePong('ping "100.64.0.2" timed out')).toBeUndefined();
    expect(parsePong('direct connection not established')).toBeUndefined();
    expect(parsePong('pong from box (100.64.0.9) via DERP(nyc) in soon')).toBeUndefined();
  });
});

describe('parseGoDuration', () => {
  it('reads what Duration.String prints', () => {
    expect(parseGoDuration('3ms')).toBe(3);
    expect(parseGoDuration('1.234s')).toBe(1234);
    expect(parseGoDuration('0s')).toBe(0);
    expect(parseGoDuration('1m2.5s')).toBe(62_500);
    expect(parseGoDuration('1h0m0s')).toBe(3_600_000);
    expect(parseGoDuration('500µs')).toBe(0.5);
  });

  it('refuses what Go refuses', () => {
    for (const bad of ['', '3', 'ms', '1.2.3s', '5 s', 'fast'])
      expect(parseGoDuration(bad), bad).toBeUndefined();
  });
});

describe('interpretPing (the exit-code table of tailscale ping)', () => {
  it('direct pong, exit 0: healthy, says direct, reports latency', () => {
    const hint = interpretPing({
      code: 0,
      stdout: 'pong from devbox (100.64.0.2) via 198.51.100.7:41641 in 3ms\n',
      stderr: '',
    });
    expect(hint).toEqual({
      ok: true,
      latencyMs: 3,
      detail: 'pong from devbox direct via 198.51.100.7:41641 in 3 ms',
    });
  });

  it('DERP pong with --until-direct=false, exit 0: healthy but relayed', () => {
    const hint = interpretPing({
      code: 0,
      stdout: 'pong from server (100.64.0.3) via DERP(fra) in 39ms\n',
      stderr: '',
    });
    expect(hint).toEqual({
      ok: true,
      latencyMs: 39,
      detail: 'pong from server relayed via DERP(fra) in 39 ms',
    });
  });

  it('DERP pongs then "direct connection not established", exit 1: the peer still answers', () => {
    const hint = interpretPing({
      code: 1,
      stdout: 'pong from server (100.64.0.3) via DERP(fra) in 39ms\n',
      stderr: 'direct connection not established\n',
    });
    expect(hint.ok).toBe(true);
    expect(hint.detail).toContain('direct connection not established');
  });

  it('timed out with no pong ("no reply"), exit 1: unhealthy', () => {
    const hint = interpretPing({ code: 1, stdout: 'ping "100.64.0.2" timed out\n', stderr: 'no reply\n' });
    expect(hint).toEqual({ ok: false, detail: 'ping "100.64.0.2" timed out (no reply)' });
  });

  it('a stopped node, exit 1: unhealthy with what tailscale said', () => {
    const hint = interpretPing({ code: 1, stdout: 'Tailscale is stopped.\n', stderr: '' });
    expect(hint.ok).toBe(false);
    expect(hint.detail).toContain('Tailscale is stopped.');
  });
});
