import { ProviderError } from '@tunnelmux/core';
import { describe, expect, it } from 'vitest';
import { TailscaleCli } from './cli';
import { backendProblem, isDaemonDown, parseStatus, requirePeer, resolvePeer } from './status';

// The shape from tunnel-clis.md §3.2 (ipnstate.Status), two-space indented, no trailing newline.
const REFERENCE = JSON.stringify(
  {
    Version: '1.88.1-t032962f4b-gc5ad3b22f',
    TUN: true,
    BackendState: 'Running',
    AuthURL: '',
    TailscaleIPs: ['100.101.102.103', 'fd7a:115c:a1e0::1'],
    Self: {
      PublicKey: 'nodekey:ab12',
      HostName: 'laptop',
      DNSName: 'laptop.tail1234.ts.net.',
      OS: 'linux',
      TailscaleIPs: ['100.101.102.103', 'fd7a:115c:a1e0::1'],
      CurAddr: '',
      Relay: 'nyc',
      Online: true,
      Active: false,
    },
    MagicDNSSuffix: 'tail1234.ts.net',
    CurrentTailnet: { Name: 'user@example.com', MagicDNSSuffix: 'tail1234.ts.net', MagicDNSEnabled: true },
    Peer: {
      'nodekey:cd34': {
        HostName: 'server',
        DNSName: 'server.tail1234.ts.net.',
        OS: 'linux',
        TailscaleIPs: ['fd7a:115c:a1e0::2', '100.64.0.2'],
        Addrs: ['198.51.100.7:41641'],
        CurAddr: '198.51.100.7:41641',
        Relay: 'nyc',
        Online: true,
        Active: true,
      },
      'nodekey:ef56': {
        HostName: 'Dev Box',
        DNSName: 'devbox.tail1234.ts.net.',
        TailscaleIPs: ['100.64.0.7'],
        Online: false,
        LastSeen: '2026-08-22T11:48:56Z',
      },
    },
  },
  null,
  2,
);

const cli = new TailscaleCli('/usr/bin/tailscale', undefined, { spawn: () => undefined as never });

describe('parseStatus', () => {
  it('reads the reference status JSON', () => {
    const status = parseStatus(REFERENCE);
    expect(status.BackendState).toBe('Running');
    expect(status.TUN).toBe(true);
    expect(Object.keys(status.Peer ?? {})).toHaveLength(2);
  });

  it('explains output that is not status JSON', () => {
    expect(() => parseStatus('Tailscale is stopped.')).toThrow(/not JSON/);
    expect(() => parseStatus('{"Peer":{}}')).toThrow(/without a BackendState/);
  });

  it('accepts the null Peer and TailscaleIPs of a logged-out node', () => {
    const status = parseStatus(
      '{"BackendState":"NeedsLogin","AuthURL":"https://login.tailscale.com/a/x","TailscaleIPs":null,"Peer":null}',
    );
    expect(resolvePeer(status, 'devbox')).toEqual({ known: [] });
  });
});

describe('backendProblem', () => {
  const problem = (json: string) => backendProblem(parseStatus(json), cli);

  it('is nothing when Running', () => {
    expect(problem('{"BackendState":"Running"}')).toBeUndefined();
  });

  it('says what to do, and makes stopped / logged out / unapproved fatal', () => {
    expect(problem('{"BackendState":"Stopped"}')).toEqual({
      message: 'Tailscale is stopped — run `tailscale up`',
      fatal: true,
    });
    expect(problem('{"BackendState":"NeedsLogin","AuthURL":"https://login.tailscale.com/a/1b2c"}')).toEqual({
      message: 'Tailscale is logged out — log in at https://login.tailscale.com/a/1b2c',
      fatal: true,
    });
    expect(problem('{"BackendState":"NeedsLogin","AuthURL":""}')?.message).toBe(
      'Tailscale is logged out — run `tailscale up` to log in',
    );
    expect(problem('{"BackendState":"NeedsMachineAuth"}')).toMatchObject({
      fatal: true,
      message: expect.stringContaining('approv'),
    });
  });

  it('treats Starting and NoState as transient', () => {
    expect(problem('{"BackendState":"Starting"}')?.fatal).toBe(false);
    expect(problem('{"BackendState":"NoState"}')?.fatal).toBe(false);
  });

  it('names the socket in the fix when one is configured', () => {
    const withSocket = new TailscaleCli('tailscale', '/tmp/ts/tailscaled.sock', {
      spawn: () => undefined as never,
    });
    expect(backendProblem(parseStatus('{"BackendState":"Stopped"}'), withSocket)?.message).toBe(
      'Tailscale is stopped — run `tailscale --socket=/tmp/ts/tailscaled.sock up`',
    );
  });
});

describe('resolvePeer', () => {
  const status = parseStatus(REFERENCE);

  it('finds a peer by MagicDNS short name, FQDN (with or without the dot), HostName and IP', () => {
    for (const host of [
      'server',
      'SERVER',
      'server.tail1234.ts.net',
      'server.tail1234.ts.net.',
      '100.64.0.2',
      'fd7a:115c:a1e0::2',
    ]) {
      expect(resolvePeer(status, host).found?.hostName, host).toBe('server');
    }
    expect(resolvePeer(status, 'dev box').found?.name).toBe('devbox');
  });

  it('dials the IPv4 address even when IPv6 is listed first', () => {
    expect(resolvePeer(status, 'server').found?.ip).toBe('100.64.0.2');
  });

  it('resolves this machine too, as online', () => {
    expect(resolvePeer(status, 'laptop').found).toMatchObject({ self: true, online: true });
  });
});

describe('requirePeer', () => {
  const status = parseStatus(REFERENCE);

  it('lists the known peers for an unknown name, as a fatal error', () => {
    const error = catchError(() => requirePeer(status, 'nosuch'));
    expect(error.message).toBe(
      '[tunnelmux] [tailscale] no peer named nosuch in this tailnet; known peers: devbox, server — fix option "host"',
    );
    expect(error.fatal).toBe(true);
  });

  it('calls an offline peer offline, as a transient error', () => {
    const error = catchError(() => requirePeer(status, 'devbox'));
    expect(error.message).toContain('peer devbox is offline (last seen 2026-08-22T11:48:56Z)');
    expect(error.fatal).toBe(false);
  });

  it('refuses an ambiguous name', () => {
    const twins = parseStatus(
      JSON.stringify({
        BackendState: 'Running',
        Peer: {
          a: { HostName: 'web', DNSName: 'web-1.t.ts.net.', TailscaleIPs: ['100.64.0.10'], Online: true },
          b: { HostName: 'web', DNSName: 'web-2.t.ts.net.', TailscaleIPs: ['100.64.0.11'], Online: true },
        },
      }),
    );
    const error = catchError(() => requirePeer(twins, 'web'));
    expect(error.message).toContain(
      'matches several peers: web-1.t.ts.net (100.64.0.10), web-2.t.ts.net (100.64.0.11)',
    );
    expect(error.fatal).toBe(true);
    expect(requirePeer(twins, 'web-2').ip).toBe('100.64.0.11');
  });
});

describe('isDaemonDown', () => {
  it('recognises both wordings of the no-daemon error', () => {
    expect(
      isDaemonDown(
        'Failed to connect to local Tailscale daemon for /localapi/v0/status; not running? Error: dial unix /var/run/tailscale/tailscaled.sock: connect: no such file or directory',
      ),
    ).toBe(true);
    expect(isDaemonDown('failed to connect to local tailscaled; it doesn’t appear to be running')).toBe(true);
    expect(isDaemonDown('Tailscale is stopped.')).toBe(false);
  });
});

function catchError(run: () => unknown): ProviderError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProviderError) return error;
    throw error;
  }
  throw new Error('expected an error');
}
