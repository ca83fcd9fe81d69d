import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeBinDir } from '../../paths';
import { parseArgs, UsageError } from './args';
import { cloudflaredFakeEnv } from './hooks';
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
