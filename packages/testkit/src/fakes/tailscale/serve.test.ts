import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFaults } from '../../forwarder';
import { fakeBinDir } from '../../paths';
import { freePort } from '../../targets';
import { alive, stopServeForwarders } from './serve';
import {
  defaultTailscaleState,
  type FakeTailscaleState,
  readTailscaleState,
  TAILSCALE_STATE_ENV,
  updateTailscaleState,
  writeTailscaleState,
} from './state';

// These run the built executable (packages/testkit/bin/tailscale → dist/bin/tailscale.js), as providers do.
const BIN = path.join(fakeBinDir(), 'tailscale');

let dir: string;
let counter = 0;
let server: net.Server;
let localPort = 0;
const stateFiles: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fake-tailscale-serve-'));
  // The local service a handler forwards to: an SSH-like banner, then echo.
  server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('SSH-2.0-served\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  localPort = (server.address() as net.AddressInfo).port;
});

// No serve forwarder may outlive a test.
afterEach(async () => {
  for (const file of stateFiles.splice(0)) await stopServeForwarders(file);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

interface World {
  file: string;
  faults: string;
  run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  state(): FakeTailscaleState;
}

/** A state file shared by every call of one test; Self's tailnet IP is loopback unless `remote`. */
function world(remote = false): World {
  const file = path.join(dir, `state-${counter++}.json`);
  const faults = path.join(dir, `faults-${counter++}.json`);
  const self = remote
    ? undefined
    : { Self: { HostName: 'laptop', TailscaleIPs: ['127.0.0.1', 'fd7a:115c:a1e0::1'] } };
  writeTailscaleState(file, defaultTailscaleState(self));
  stateFiles.push(file);
  const env = { ...process.env, [TAILSCALE_STATE_ENV]: file, TUNNELMUX_FAKE_FAULTS: faults };
  return {
    file,
    faults,
    run: (args) =>
      new Promise((resolve) => {
        execFile(BIN, args, { env, timeout: 20_000 }, (error, stdout, stderr) => {
          const code = error ? ((error as { code?: number }).code ?? null) : 0;
          resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
        });
      }),
    state: () => readTailscaleState(file)!,
  };
}

/** The first line the public port answers with, or the error. */
function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const timer = setTimeout(() => finish(new Error(`no banner; got ${JSON.stringify(got)}`)), 3000);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(got);
    };
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString();
      if (got.includes('\n')) finish();
    });
    socket.once('error', finish);
  });
}

describe('fake tailscale: serve', () => {
  it('serve --bg --tcp=N tcp://127.0.0.1:P prints the real text, stores the handler and forwards for real', async () => {
    const w = world();
    const port = await freePort();
    const result = await w.run(['serve', '--bg', `--tcp=${port}`, `tcp://127.0.0.1:${localPort}`]);
    expect(result).toEqual({
      code: 0,
      stdout: [
        'Available within your tailnet:',
        '',
        `|-- tcp://laptop.tail1234.ts.net:${port} (TLS over TCP)`,
        `|-- tcp://127.0.0.1:${port}`,
        `|-- tcp://[fd7a:115c:a1e0::1]:${port}`,
        `|--> tcp://127.0.0.1:${localPort}`,
        '',
        'Serve started and running in the background.',
        `To disable the proxy, run: tailscale serve --tcp=${port} off`,
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(await banner(port)).toBe('SSH-2.0-served\r\n');
    const json = await w.run(['serve', 'status', '--json']);
    expect(json.stdout).toBe(
      `{\n  "TCP": {\n    "${port}": {\n      "TCPForward": "127.0.0.1:${localPort}"\n    }\n  }\n}\n`,
    );
    expect((await w.run(['serve', 'status'])).stdout).toBe(
      [
        `|-- tcp://laptop.tail1234.ts.net:${port} (TLS over TCP, tailnet only)`,
        `|-- tcp://127.0.0.1:${port}`,
        `|-- tcp://[fd7a:115c:a1e0::1]:${port}`,
        `|--> tcp://127.0.0.1:${localPort}`,
        '',
        '',
      ].join('\n'),
    );
  });

  it('serve --tcp=N off removes the handler and stops listening before it returns', async () => {
    const w = world();
    const port = await freePort();
    // The short target form: a bare port means 127.0.0.1.
    expect((await w.run(['serve', '--bg', `--tcp=${port}`, String(localPort)])).code).toBe(0);
    const pid = w.state().serveForwarders?.[port]?.pid;
    expect(pid).toBeGreaterThan(0);
    expect(await w.run(['serve', `--tcp=${port}`, 'off'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(w.state().serve).toEqual({});
    await expect(banner(port)).rejects.toThrow(/ECONNREFUSED/);
    expect((await w.run(['serve', 'status'])).stdout).toBe('No serve config\n');
    expect(await w.run(['serve', `--tcp=${port}`, 'off'])).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: failed to remove TCP serve: serve config does not exist\n\ntry `tailscale serve --help` for usage info\n',
    });
  });

  it('serve reset removes every handler and stops every forwarder', async () => {
    const w = world();
    const [a, b] = [await freePort(), await freePort()];
    for (const port of [a, b]) {
      expect((await w.run(['serve', '--bg', `--tcp=${port}`, `localhost:${localPort}`])).code).toBe(0);
    }
    expect(Object.keys(w.state().serve?.TCP ?? {}).sort()).toEqual([String(a), String(b)].sort());
    expect((await w.run(['serve', 'reset'])).code).toBe(0);
    expect(w.state().serve).toEqual({});
    await expect(banner(a)).rejects.toThrow();
    await expect(banner(b)).rejects.toThrow();
  });

  it('prints null from status --json before any serve config exists', async () => {
    expect((await world(true).run(['serve', 'status', '--json'])).stdout).toBe('null\n');
  });

  it('refuses a port that serves web, a foreground port, and targets off the loopback, like the real CLI', async () => {
    const w = world(true);
    updateTailscaleState(w.file, (state) => {
      state.serve = {
        TCP: { '443': { HTTPS: true } },
        Foreground: { s1: { TCP: { '8443': { TCPForward: '127.0.0.1:1' } } } },
      };
    });
    expect(await w.run(['serve', '--bg', '--tcp=443', '22'])).toMatchObject({
      code: 1,
      stderr: 'want to serve "tcp" but port is already serving "https" for "machine"\n',
    });
    expect(await w.run(['serve', '--bg', '--tcp=8443', '22'])).toMatchObject({
      code: 1,
      stderr: 'foreground already exists under this port\n',
    });
    expect(await w.run(['serve', '--bg', '--tcp=2222', 'tcp://10.0.0.5:22'])).toMatchObject({
      code: 1,
      stderr:
        'error: failed to apply TCP serve: unable to expand target: only localhost or 127.0.0.1 proxies are currently supported\n\ntry `tailscale serve --help` for usage info\n',
    });
    expect(await w.run(['serve', '--tcp=443', 'off'])).toMatchObject({ code: 1 });
    // Nothing was changed by the refusals.
    expect(w.state().serve?.TCP).toEqual({ '443': { HTTPS: true } });
  });

  it('replaces an existing TCP forward on --bg without asking, as the real CLI does', async () => {
    const w = world();
    const port = await freePort();
    expect((await w.run(['serve', '--bg', `--tcp=${port}`, 'tcp://127.0.0.1:9'])).code).toBe(0);
    const first = w.state().serveForwarders?.[port]?.pid;
    expect((await w.run(['serve', '--bg', `--tcp=${port}`, `tcp://127.0.0.1:${localPort}`])).code).toBe(0);
    expect(w.state().serve?.TCP?.[port]).toEqual({ TCPForward: `127.0.0.1:${localPort}` });
    expect(w.state().serveForwarders?.[port]?.pid).not.toBe(first);
    expect(await banner(port)).toBe('SSH-2.0-served\r\n');
  });

  it('prints why on stdout when the backend is stopped, and fails without a daemon', async () => {
    const w = world(true);
    updateTailscaleState(w.file, (state) => {
      state.BackendState = 'Stopped';
    });
    expect(await w.run(['serve', '--bg', '--tcp=2222', '22'])).toMatchObject({
      code: 1,
      stdout: 'Tailscale is stopped.\n',
    });
    updateTailscaleState(w.file, (state) => {
      state.daemon = { running: false };
    });
    expect((await w.run(['serve', 'status', '--json'])).stderr).toContain(
      'Failed to connect to local Tailscale daemon for /localapi/v0/serve-config',
    );
  });

  it('forwarder faults: black-hole, slow, and a crash that leaves the handler but closes the port', async () => {
    const w = world();
    const port = await freePort();
    expect((await w.run(['serve', '--bg', `--tcp=${port}`, String(localPort)])).code).toBe(0);
    writeFaults(w.faults, { mode: 'blackhole' });
    // The forwarder polls the fault file: wait (bounded) until it has picked the fault up, not a fixed time.
    const outcome = () => banner(port).catch((error: Error) => error.message);
    await expect.poll(outcome, { timeout: 20_000, interval: 50 }).toMatch(/no banner/);
    writeFaults(w.faults, { mode: 'slow', latencyMs: 200 });
    // Slow still answers, but never sooner than the latency asked for.
    const timed = async () => {
      const started = Date.now();
      const got = await banner(port);
      return { got, slow: Date.now() - started >= 190 };
    };
    await expect
      .poll(timed, { timeout: 20_000, interval: 50 })
      .toEqual({ got: 'SSH-2.0-served\r\n', slow: true });
    writeFaults(w.faults, { mode: 'crash' });
    const pid = w.state().serveForwarders?.[port]?.pid;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && alive(pid!)) await sleep(50);
    expect(alive(pid!)).toBe(false);
    expect(w.state().serve?.TCP?.[port]).toBeDefined();
    // A connect racing the exit can still meet the dying listener (reset); within a bounded wait it is refused.
    const refused = async () =>
      (await banner(port).catch((error: Error) => error.message)).includes('ECONNREFUSED');
    const until = Date.now() + 5000;
    while (Date.now() < until && !(await refused())) await sleep(50);
    await expect(banner(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a forwarder exits by itself when its state file disappears (test cleanup)', async () => {
    const w = world();
    const port = await freePort();
    expect((await w.run(['serve', '--bg', `--tcp=${port}`, String(localPort)])).code).toBe(0);
    const pid = w.state().serveForwarders?.[port]?.pid;
    rmSync(w.file);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && alive(pid!)) await sleep(50);
    expect(alive(pid!)).toBe(false);
  });
});
