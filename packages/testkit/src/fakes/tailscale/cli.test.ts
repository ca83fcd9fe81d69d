import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFaults } from '../../forwarder';
import { fakeBinDir } from '../../paths';
import { formatGoDuration, parseGoDuration } from './duration';
import {
  defaultTailscaleState,
  type FakeTailscaleState,
  TAILSCALE_STATE_ENV,
  writeTailscaleState,
} from './state';

// These run the built executable (packages/testkit/bin/tailscale → dist/bin/tailscale.js), as providers do.
const BIN = path.join(fakeBinDir(), 'tailscale');
let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fake-tailscale-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function envFor(state: FakeTailscaleState | null, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const file = path.join(dir, `state-${counter++}.json`);
  if (state) writeTailscaleState(file, state);
  return { ...process.env, [TAILSCALE_STATE_ENV]: file, ...extra };
}

function run(
  args: string[],
  state: FakeTailscaleState | null = defaultTailscaleState(),
  extra: NodeJS.ProcessEnv = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(BIN, args, { env: envFor(state, extra), timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

describe('fake tailscale: version and status', () => {
  it('prints the five-line version', async () => {
    const result = await run(['version']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      '1.88.1',
      '  tailscale commit: 032962f4bc982fe8b6b58df01c33cf2904d07d67',
      '  long version: 1.88.1-t032962f4b-gc5ad3b22f',
      '  other commit: c5ad3b22fdb5813c46501f20144c6b29b61acf54',
      '  go version: go1.25.1',
      '',
    ]);
  });

  it('prints status --json two-space indented, without a trailing newline, exit 0 in every state', async () => {
    for (const BackendState of ['Running', 'Stopped', 'NeedsLogin', 'NeedsMachineAuth', 'NoState'] as const) {
      const result = await run(['status', '--json'], defaultTailscaleState({ BackendState }));
      expect(result.code, BackendState).toBe(0);
      expect(result.stdout.endsWith('}')).toBe(true);
      expect(result.stdout).toContain('\n  "BackendState": ');
      expect(JSON.parse(result.stdout).BackendState).toBe(BackendState);
    }
    const running = JSON.parse((await run(['status', '--json'])).stdout);
    const devbox = Object.entries(running.Peer as Record<string, { HostName: string }>).find(
      ([, p]) => p.HostName === 'devbox',
    );
    expect(devbox?.[0]).toMatch(/^nodekey:[0-9a-f]{64}$/);
    expect(devbox?.[1]).toMatchObject({
      DNSName: 'devbox.tail1234.ts.net.',
      Online: true,
      CurAddr: '198.51.100.7:41641',
    });
  });

  it('exits 1 from plain status unless Running, printing why on stdout', async () => {
    expect((await run(['status'])).code).toBe(0);
    const stopped = await run(['status'], defaultTailscaleState({ BackendState: 'Stopped' }));
    expect(stopped).toMatchObject({ code: 1, stdout: 'Tailscale is stopped.\n' });
    const out = await run(
      ['status'],
      defaultTailscaleState({ BackendState: 'NeedsLogin', AuthURL: 'https://login.tailscale.com/a/x' }),
    );
    expect(out).toMatchObject({
      code: 1,
      stdout: 'Logged out.\nLog in at: https://login.tailscale.com/a/x\n',
    });
  });

  it('fails like the real CLI when the daemon is not there, and honours --socket before the subcommand', async () => {
    // No state file at all: no daemon.
    const down = await run(['status', '--json'], null);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(
      'Failed to connect to local Tailscale daemon for /localapi/v0/status; not running? Error: dial unix /var/run/tailscale/tailscaled.sock: connect: no such file or directory\n',
    );
    const state = defaultTailscaleState({ daemon: { socket: '/tmp/ts/tailscaled.sock' } });
    expect((await run(['--socket=/tmp/ts/tailscaled.sock', 'status', '--json'], state)).code).toBe(0);
    expect((await run(['--socket', '/tmp/ts/tailscaled.sock', 'status', '--json'], state)).code).toBe(0);
    expect((await run(['status', '--json'], state)).code).toBe(1);
    expect((await run(['status', '--socket=/tmp/ts/tailscaled.sock'], state)).stderr).toContain(
      'flag provided but not defined: -socket',
    );
  });
});

describe('fake tailscale: ip', () => {
  it('prints addresses one per line, filtered by -4, -6, -1', async () => {
    expect((await run(['ip'])).stdout).toBe('100.101.102.103\nfd7a:115c:a1e0::1\n');
    expect((await run(['ip', '-4', 'devbox'])).stdout).toBe('100.64.0.2\n');
    expect((await run(['ip', '-6', 'devbox.tail1234.ts.net'])).stdout).toBe('fd7a:115c:a1e0::2\n');
    expect((await run(['ip', '-1', 'server'])).stdout).toBe('100.64.0.3\n');
  });

  it('fails with the real messages', async () => {
    expect(await run(['ip', 'nosuch'])).toMatchObject({
      code: 1,
      stderr: 'error looking up IP of "nosuch": lookup nosuch: no such host\n',
    });
    expect(await run(['ip', '100.99.0.1'])).toMatchObject({
      code: 1,
      stderr: 'no peer or service found with IP 100.99.0.1\n',
    });
    const v6only = defaultTailscaleState();
    v6only.Peers[0]!.TailscaleIPs = ['fd7a:115c:a1e0::2'];
    expect(await run(['ip', '-4', 'devbox'], v6only)).toMatchObject({
      code: 1,
      stderr: 'no Tailscale IPv4 address\n',
    });
  });
});

describe('fake tailscale: ping (the exit-code table)', () => {
  it('direct pong: one line, exit 0', async () => {
    expect(await run(['ping', '--c', '3', 'devbox'])).toEqual({
      code: 0,
      stdout: 'pong from devbox (100.64.0.2) via 198.51.100.7:41641 in 3ms\n',
      stderr: '',
    });
  });

  it('only DERP pongs with --until-direct (default): "direct connection not established", exit 1', async () => {
    const result = await run(['ping', '--c', '1', 'server']);
    expect(result).toEqual({
      code: 1,
      stdout: 'pong from server (100.64.0.3) via DERP(fra) in 39ms\n',
      stderr: 'direct connection not established\n',
    });
  });

  it('DERP pong with --until-direct=false: exit 0', async () => {
    expect((await run(['ping', '--c', '1', '--until-direct=false', 'server'])).code).toBe(0);
  });

  it('no pong at all: "timed out" on stdout, "no reply" on stderr, exit 1', async () => {
    const state = defaultTailscaleState();
    state.Peers[0]!.Online = false;
    expect(await run(['ping', '--c', '1', '--timeout', '100ms', 'devbox'], state)).toEqual({
      code: 1,
      stdout: 'ping "100.64.0.2" timed out\n',
      stderr: 'no reply\n',
    });
  });

  it('a stopped node prints why on stdout, exit 1', async () => {
    expect(await run(['ping', 'devbox'], defaultTailscaleState({ BackendState: 'Stopped' }))).toMatchObject({
      code: 1,
      stdout: 'Tailscale is stopped.\n',
    });
  });
});

describe('fake tailscale: nc', () => {
  let server: net.Server;
  let port = 0;
  beforeAll(async () => {
    server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.write('SSH-2.0-fake\r\n');
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Run nc, write `input`, end stdin once `until` was read; resolve with what came back. */
  function nc(
    args: string[],
    state: FakeTailscaleState,
    until: string,
    input = 'hello\n',
    extra: NodeJS.ProcessEnv = {},
    endAfterMs = 10_000,
  ): Promise<Run> {
    return new Promise((resolve) => {
      const child = spawn(BIN, ['nc', ...args], { env: envFor(state, extra), stdio: 'pipe' });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.stdin.end(), endAfterMs);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes(until)) child.stdin.end();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdin.on('error', () => undefined);
      child.stdin.write(input);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it('forwards stdin/stdout to the peer service through its port map', async () => {
    const state = defaultTailscaleState();
    state.Peers[0]!.ports = { '22': port };
    expect(await nc(['devbox', '22'], state, 'hello\n')).toEqual({
      code: 0,
      stdout: 'SSH-2.0-fake\r\nhello\n',
      stderr: '',
    });
  });

  it('fails a dial with Dial("host", port): … and exit 1', async () => {
    const closed = await nc(['100.64.0.2', '1'], defaultTailscaleState(), 'never');
    expect(closed.code).toBe(1);
    expect(closed.stderr).toBe('Dial("100.64.0.2", 1): dial tcp 100.64.0.2:1: connect: connection refused\n');
    const refused = await nc(['devbox', String(port)], defaultTailscaleState(), 'never', '', {
      TUNNELMUX_FAKE_FAULTS: faults({ mode: 'refuse' }),
    });
    expect(refused).toMatchObject({
      code: 1,
      stderr: `Dial("devbox", ${port}): dial tcp 100.64.0.2:${port}: connect: connection refused\n`,
    });
  });

  it('black-holes: dials, then says nothing', async () => {
    // Half a second is plenty for the banner to come back when the path works; ending stdin then ends nc.
    const result = await nc(
      ['devbox', String(port)],
      defaultTailscaleState(),
      'never',
      'hello\n',
      {
        TUNNELMUX_FAKE_FAULTS: faults({ mode: 'blackhole' }),
      },
      500,
    );
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  function faults(plan: Parameters<typeof writeFaults>[1]): string {
    const file = path.join(dir, `faults-${counter++}.json`);
    writeFaults(file, plan);
    return file;
  }
});

describe('Go durations', () => {
  it('format the way Duration.String rounds pings', () => {
    expect([0, 3, 39, 1234, 62_500].map(formatGoDuration)).toEqual(['0s', '3ms', '39ms', '1.234s', '1m2.5s']);
    expect(parseGoDuration('2s')).toBe(2000);
    expect(parseGoDuration('nope')).toBeUndefined();
  });
});
