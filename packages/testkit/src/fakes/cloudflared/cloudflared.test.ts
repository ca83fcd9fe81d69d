import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeBinDir } from '../../paths';
import { parseArgs, UsageError } from './args';
import { cloudflaredFakeEnv, makeTunnelToken, writeCloudflaredFaults } from './hooks';
import { logTable, parseTunnelToken } from './tunnel';
import { formatLine } from './zerolog';

// The fake is run as tests run it: the built executable from packages/testkit/bin.
const BIN = path.join(fakeBinDir(), 'cloudflared');
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(BIN, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 15_000 });
}

/** Start the fake and collect its stderr. */
function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('fake cloudflared: the command line', () => {
  it('prints the version like the real one, in every spelling', () => {
    for (const args of [['--version'], ['-v'], ['-V'], ['version']]) {
      const result = run(args);
      expect(result.status, args.join(' ')).toBe(0);
      expect(result.stdout).toBe('cloudflared version 2025.11.1 (built 2025-11-07T16:30 UTC)\n');
    }
    expect(run(['version', '--short']).stdout).toBe('2025.11.1\n');
  });

  it('exits 255 with the See line on usage errors', () => {
    const unknown = run(['access', 'tcp', '--bogus']);
    expect(unknown.status).toBe(255);
    expect(unknown.stderr).toContain("See 'cloudflared access tcp --help'.");
    // An alias invocation still names the canonical command, as urfave's FullName does.
    const noHost = run(['forward', 'ssh', '--url', '127.0.0.1:1']);
    expect(noHost.status).toBe(255);
    expect(noHost.stderr).toContain('ERR error="no input provided"');
    expect(noHost.stderr).toContain("See 'cloudflared access tcp --help'.");
  });

  it('parses aliases, = forms and the positional listener', () => {
    const parsed = parseArgs([
      '--loglevel=debug',
      'forward',
      'rdp',
      '-T',
      'h.example.com',
      '--id=abc',
      '127.0.0.1:5',
    ]);
    expect(parsed.path).toEqual(['access', 'tcp']);
    expect(parsed.set.get('hostname')).toBe('h.example.com');
    expect(parsed.set.get('service-token-id')).toBe('abc');
    expect(parsed.set.get('loglevel')).toBe('debug');
    expect(parsed.positionals).toEqual(['127.0.0.1:5']);
    expect(() => parseArgs(['access', 'tcp', '--url'])).toThrow(UsageError);
  });
});

describe('fake cloudflared: access tcp', () => {
  it('fails to bind like the real one: ERR line, error text, exit 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const result = run(['access', 'tcp', '--hostname', 'ssh.example.com', '--url', `127.0.0.1:${port}`]);
      expect(result.status).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines[0]).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INF Start Websocket listener host=127\.0\.0\.1:\d+$/,
      );
      expect(lines[1]).toMatch(
        new RegExp(
          `Z ERR Error on Websocket listener error="failed to start forwarding server: listen tcp 127.0.0.1:${port}: bind: address already in use"$`,
        ),
      );
      expect(lines[2]).toBe(
        `failed to start forwarding server: listen tcp 127.0.0.1:${port}: bind: address already in use`,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('prints the browser login and holds the connection when the Access app wants a token it did not get', async () => {
    const port = await freePort();
    const fake = start(
      ['access', 'tcp', '--hostname', 'ssh.example.com', '--url', `127.0.0.1:${port}`],
      cloudflaredFakeEnv({ routes: {}, serviceToken: { id: 'a', secret: 'b' } }),
    );
    await until(() => fake.stderr().includes('Start Websocket listener'));
    let socket: net.Socket | undefined;
    await until(() => {
      if (!socket || socket.destroyed) {
        socket = net.connect({ host: '127.0.0.1', port });
        socket.on('error', () => undefined);
      }
      return fake.stderr().includes('A browser window should have opened at the following URL:');
    });
    expect(socket!.destroyed).toBe(false);
    expect(fake.stderr()).toContain(
      'If the browser failed to open, please visit the URL above directly in your browser.',
    );
    socket!.destroy();
    fake.child.kill('SIGTERM');
    expect(await fake.exited).toEqual({ code: 0, signal: null });
  });

  it('exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const fake = start(['access', 'tcp', '--hostname', 'ssh.example.com', '--url', `127.0.0.1:${port}`]);
    await until(() => fake.stderr().includes('Start Websocket listener'));
    fake.child.kill('SIGTERM');
    expect(await fake.exited).toEqual({ code: 0, signal: null });
  });
});

/** GET a path of the fake's metrics server: status and body. */
async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text() };
}

/** Connect to `port` and read until the connection closes or `expected` arrives. */
function readFrom(port: number, expected: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes(expected)) socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

describe('fake cloudflared: tunnel (expose side)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fake-cloudflared-'));
  const token = makeTunnelToken({ t: 'c1744f8b-faa1-48a4-9e5c-02ac921467fa', s: 'secret-of-the-tunnel' });
  let service: net.Server;
  let servicePort = 0;
  const banner = 'SSH-2.0-fake-service\r\n';

  it('reads tokens as cloudflared does: base64 JSON with a, t and s', () => {
    expect(parseTunnelToken(token)).toEqual({
      a: '0123456789abcdef0123456789abcdef',
      t: 'c1744f8b-faa1-48a4-9e5c-02ac921467fa',
      s: 'secret-of-the-tunnel',
    });
    expect(parseTunnelToken('nope')).toBeUndefined();
    expect(parseTunnelToken(Buffer.from('{"a":"x","t":"y"}').toString('base64'))).toBeUndefined();
  });

  it('rejects a malformed token with the usage error and exit 255', () => {
    const result = run(['tunnel', '--no-autoupdate', 'run'], { TUNNEL_TOKEN: 'not-a-token' });
    expect(result.status).toBe(255);
    expect(result.stderr).toBe("Provided Tunnel token is not valid.\nSee 'cloudflared tunnel run --help'.\n");
  });

  it('retries Unauthorized, then logs Initiating shutdown and exits 1', () => {
    const result = run(['tunnel', '--no-autoupdate', '--metrics', '127.0.0.1:0', 'run'], {
      TUNNEL_TOKEN: token,
      ...cloudflaredFakeEnv({ routes: {}, tunnelSecret: 'another-secret' }),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'ERR Register tunnel error from server side error="Unauthorized: Invalid tunnel secret" connIndex=0',
    );
    expect(result.stderr).toMatch(/ERR Initiating shutdown error="Unauthorized: Invalid tunnel secret"\n/);
    expect(result.stderr).not.toContain('Registered tunnel connection');
  });

  it('runs a named tunnel: start-up lines, /ready, public port to the ingress, drain on SIGTERM', async () => {
    service = net.createServer((socket) => {
      socket.end(banner);
    });
    await new Promise<void>((resolve) => service.listen({ host: '127.0.0.1', port: 0 }, resolve));
    servicePort = (service.address() as net.AddressInfo).port;
    const metrics = await freePort();
    const edgeFile = path.join(dir, 'edge.json');
    const faults = path.join(dir, 'faults.json');
    writeCloudflaredFaults(faults, {});
    const fake = start(['tunnel', '--no-autoupdate', '--metrics', `127.0.0.1:${metrics}`, 'run'], {
      TUNNEL_TOKEN: token,
      ...cloudflaredFakeEnv({
        routes: {},
        ingress: `127.0.0.1:${servicePort}`,
        edgeFile,
        faultsFile: faults,
        publicHostname: 'ssh.example.com',
      }),
    });
    try {
      await until(() => (fake.stderr().match(/Registered tunnel connection/g) ?? []).length === 4);
      const lines = fake.stderr().trim().split('\n');
      expect(lines[0]).toMatch(/Z INF Starting tunnel tunnelID=c1744f8b-faa1-48a4-9e5c-02ac921467fa$/);
      expect(lines[1]).toMatch(/Z INF Version 2025\.11\.1 \(Checksum [0-9a-f]{64}\)$/);
      expect(fake.stderr()).toContain('token:*****');
      expect(fake.stderr()).not.toContain(token);
      expect(fake.stderr()).toContain(`INF Starting metrics server on 127.0.0.1:${metrics}/metrics`);
      expect(fake.stderr()).toMatch(
        /INF Registered tunnel connection connIndex=0 connection=[0-9a-f-]{36} event=0 ip=198\.41\.200\.13 location=fra08 protocol=quic/,
      );
      const ready = await get(metrics, '/ready');
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.body)).toMatchObject({ status: 200, readyConnections: 4 });
      expect(await get(metrics, '/healthcheck')).toEqual({ status: 200, body: 'OK\n' });
      expect(JSON.parse((await get(metrics, '/quicktunnel')).body)).toEqual({ hostname: '' });
      const edge = JSON.parse(readFileSync(edgeFile, 'utf8')) as { publicAddress: string; hostname: string };
      expect(edge.hostname).toBe('ssh.example.com');
      const publicPort = Number(edge.publicAddress.split(':')[1]);
      expect(await readFrom(publicPort, banner)).toBe(banner);
      expect((await get(metrics, '/metrics')).body).toMatch(/^cloudflared_tcp_total_sessions 1$/m);

      // ready503: the edge connections are lost, /ready says so, the public port resets connections.
      writeCloudflaredFaults(faults, { mode: 'ready503' });
      await until(() => fake.stderr().includes('Serve tunnel error'));
      const lost = await get(metrics, '/ready');
      expect(lost.status).toBe(503);
      expect(JSON.parse(lost.body)).toMatchObject({ status: 503, readyConnections: 0 });
      expect(await readFrom(publicPort, banner)).toBe('');
      writeCloudflaredFaults(faults, {});
      await until(() => (fake.stderr().match(/Registered tunnel connection/g) ?? []).length === 8);
      expect((await get(metrics, '/ready')).status).toBe(200);

      fake.child.kill('SIGTERM');
      expect(await fake.exited).toEqual({ code: 0, signal: null });
      for (let index = 0; index < 4; index++) {
        expect(fake.stderr()).toContain(`INF Unregistered tunnel connection connIndex=${index}`);
      }
    } finally {
      await new Promise((resolve) => service.close(resolve));
    }
  });

  it('runs a quick tunnel: the URL box, /quicktunnel, one connection', async () => {
    const metrics = await freePort();
    const fake = start([
      'tunnel',
      '--no-autoupdate',
      '--metrics',
      `127.0.0.1:${metrics}`,
      '--url',
      'http://127.0.0.1:8080',
    ]);
    await until(() => fake.stderr().includes('Registered tunnel connection'));
    const url = /\| {2}(https:\/\/[a-z-]+\.trycloudflare\.com)\s+\|/.exec(fake.stderr())?.[1];
    expect(url).toBeDefined();
    const { hostname } = JSON.parse((await get(metrics, '/quicktunnel')).body) as { hostname: string };
    expect(`https://${hostname}`).toBe(url);
    expect(JSON.parse((await get(metrics, '/ready')).body)).toMatchObject({ readyConnections: 1 });
    fake.child.kill('SIGTERM');
    expect(await fake.exited).toEqual({ code: 0, signal: null });
  });

  it('keeps /ready at 503 when the start hangs', async () => {
    const metrics = await freePort();
    const faults = path.join(dir, 'hang.json');
    writeCloudflaredFaults(faults, { startup: 'hang' });
    const fake = start(['tunnel', '--metrics', `127.0.0.1:${metrics}`, 'run'], {
      TUNNEL_TOKEN: token,
      ...cloudflaredFakeEnv({ routes: {}, faultsFile: faults }),
    });
    await until(() => fake.stderr().includes('Starting metrics server'));
    expect((await get(metrics, '/ready')).status).toBe(503);
    fake.child.kill('SIGTERM');
    expect(await fake.exited).toEqual({ code: 0, signal: null });
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws the quick tunnel box like cliutil.LogTable', () => {
    expect(logTable(['ab', 'https://x'])).toEqual([
      '+-------------+',
      '|  ab         |',
      '|  https://x  |',
      '+-------------+',
    ]);
  });
});

describe('zerolog console format', () => {
  it('sorts fields with error first and Go-quotes values with spaces', () => {
    const date = new Date('2026-08-20T10:00:05.123Z');
    expect(
      formatLine(
        'error',
        'failed to connect to origin',
        { originURL: 'https://h', error: 'websocket: bad handshake' },
        date,
      ),
    ).toBe(
      '2026-08-20T10:00:05Z ERR failed to connect to origin error="websocket: bad handshake" originURL=https://h',
    );
  });
});
