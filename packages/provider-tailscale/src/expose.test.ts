import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  createManager,
  ProviderError,
  type Target,
  type Tunnel,
  type TunnelmuxEvent,
  validateOptions,
} from '@tunnelmux/core';
import { type BannerServer, createTestContext, startBannerServer } from '@tunnelmux/core/testing';
import { freePort, writeFaults } from '@tunnelmux/testkit';
import {
  defaultTailscaleState,
  type FakeServeConfig,
  type FakeTailscaleState,
  readTailscaleState,
  stopServeForwarders,
  updateTailscaleState,
} from '@tunnelmux/testkit/fakes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import tailscale from './index';
import { type FakeTailnet, fakeTailnet, openTailscale } from './test-support';

let target: BannerServer;
const worlds: FakeTailnet[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  target = await startBannerServer();
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  for (const w of worlds.splice(0)) {
    await stopServeForwarders(w.stateFile);
    w.cleanup();
  }
});

afterAll(async () => {
  await target.close();
});

/** A tailnet where this node's tailnet IP is 127.0.0.1: the fake serves each TCP handler on 127.0.0.1:<port>. */
function loopbackWorld(overrides: Partial<FakeTailscaleState> = {}): FakeTailnet {
  const w = fakeTailnet(
    defaultTailscaleState({
      Self: { HostName: 'laptop', TailscaleIPs: ['127.0.0.1', 'fd7a:115c:a1e0::1'] },
      ...overrides,
    }),
  );
  worlds.push(w);
  return w;
}

/** The default tailnet: this node is 100.101.102.103, which no test may dial (probes must use `check`). */
function remoteWorld(overrides: Partial<FakeTailscaleState> = {}): FakeTailnet {
  const w = fakeTailnet(defaultTailscaleState(overrides));
  worlds.push(w);
  return w;
}

interface Exposed {
  tunnel: Tunnel;
  publicUrls: string[];
  logs: string[];
  undos: Array<{ command: string; args: readonly string[]; env?: Record<string, string> }>;
  close(): Promise<void>;
}

/** Open an expose path of `target` the way the manager would, recording what the provider registers. */
async function expose(
  options: Record<string, unknown>,
  w: FakeTailnet,
  local: Target = target,
): Promise<Exposed> {
  const parsed = await validateOptions(tailscale, options, { mode: 'expose' });
  const test = createTestContext({ target: local, env: w.env, mode: 'expose' });
  const undos: Exposed['undos'] = [];
  const register = test.ctx.undoIfOrphaned;
  test.ctx.undoIfOrphaned = (command, args, env) => {
    undos.push({ command, args, env });
    return register(command, args, env);
  };
  const tunnel = await tailscale.open(parsed, test.ctx);
  const close = async () => {
    test.abort();
    await tunnel.close();
  };
  closers.push(close);
  return {
    tunnel,
    publicUrls: test.publicUrls,
    logs: test.logs.map((l) => `${l.level} ${l.message}`),
    undos,
    close,
  };
}

async function exposeError(options: Record<string, unknown>, w: FakeTailnet, local: Target = target) {
  const outcome = await expose(options, w, local).then(
    async (opened) => {
      await opened.close();
      return undefined;
    },
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected open to fail');
  return outcome as ProviderError | ConfigError;
}

/** Run the fake tailscale by hand, as a person at a shell would. */
function tailscaleCli(
  w: FakeTailnet,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('tailscale', args, { env: w.env, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function serveConfig(w: FakeTailnet): FakeServeConfig | null | undefined {
  return readTailscaleState(w.stateFile)?.serve;
}

/** The SSH-like banner through a socket, or the error that stopped it. */
async function bannerThrough(
  socketPromise: Promise<net.Socket | import('node:stream').Duplex>,
): Promise<string> {
  const socket = await socketPromise;
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(
      () => finish(new Error(`no banner within 5 s; got ${JSON.stringify(got)}`)),
      5000,
    );
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(got);
    };
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1');
      if (got.includes('\r\n')) finish();
    });
    socket.once('error', finish);
  });
}

/** True when 127.0.0.1:port refuses a connection (nothing is published there any more). */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Wait (bounded) until `condition` holds. */
async function until(condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(50);
  }
  return condition();
}

describe('expose: publishing', () => {
  it('runs `serve --bg --tcp=N tcp://127.0.0.1:P`, announces the MagicDNS URL and dials through the public port', async () => {
    const w = loopbackWorld();
    const publicPort = await freePort();
    const opened = await expose({ publicPort, pollInterval: 100 }, w);
    const serveCalls = w.calls().filter((c) => c.argv[0] === 'serve' && c.argv[1] === '--bg');
    expect(serveCalls.map((c) => c.argv)).toEqual([
      ['serve', '--bg', `--tcp=${publicPort}`, `tcp://127.0.0.1:${target.port}`],
    ]);
    expect(serveConfig(w)).toEqual({ TCP: { [publicPort]: { TCPForward: `127.0.0.1:${target.port}` } } });
    expect(opened.publicUrls).toEqual([`tcp://laptop.tail1234.ts.net:${publicPort}`]);
    expect(opened.tunnel.publicUrl).toBe(`tcp://laptop.tail1234.ts.net:${publicPort}`);
    expect(opened.tunnel.endpoint).toBe(`127.0.0.1:${publicPort}`);
    // The public port answered only once published, so the probes can go end to end.
    expect(opened.tunnel.health).toBe('dial');
    expect(await bannerThrough(opened.tunnel.dial(AbortSignal.timeout(5000)))).toBe(target.banner);
    expect(await opened.tunnel.check!(AbortSignal.timeout(10_000))).toMatchObject({ ok: true });
    expect(opened.tunnel.pid).toBeUndefined();
  });

  it('publishes on the local port by default, and uses `check` where this node cannot dial its tailnet address', async () => {
    const w = remoteWorld();
    const opened = await expose({ health: 'check', pollInterval: 100 }, w);
    expect(serveConfig(w)).toEqual({ TCP: { [target.port]: { TCPForward: `127.0.0.1:${target.port}` } } });
    expect(opened.publicUrls).toEqual([`tcp://laptop.tail1234.ts.net:${target.port}`]);
    expect(opened.tunnel.endpoint).toBe(`100.101.102.103:${target.port}`);
    expect(opened.tunnel.health).toBe('check');
    expect(await opened.tunnel.check!(AbortSignal.timeout(10_000))).toEqual({
      ok: true,
      detail: `tcp port ${target.port} forwards to 127.0.0.1:${target.port}; backend Running`,
      latencyMs: expect.any(Number),
    });
    await opened.close();
    expect(serveConfig(w)).toEqual({});
  });

  it('passes --socket before every subcommand, also in the exit-time undo, with the absolute tailscale path', async () => {
    const w = loopbackWorld({ daemon: { socket: '/tmp/ts/tailscaled.sock' } });
    const publicPort = await freePort();
    const opened = await expose({ publicPort, socket: '/tmp/ts/tailscaled.sock', pollInterval: 100 }, w);
    for (const call of w.calls()) expect(call.argv[0]).toBe('--socket=/tmp/ts/tailscaled.sock');
    expect(opened.undos).toHaveLength(1);
    const undo = opened.undos[0]!;
    expect(path.isAbsolute(undo.command)).toBe(true);
    expect(path.basename(undo.command)).toBe('tailscale');
    expect(undo.args).toEqual(['--socket=/tmp/ts/tailscaled.sock', 'serve', `--tcp=${publicPort}`, 'off']);
    // The reaper runs with tunnelmux's own environment: what this path's env adds must travel with the undo.
    expect(undo.env?.TUNNELMUX_FAKE_TAILSCALE_STATE).toBe(w.stateFile);
  });

  it('close() withdraws the handler with `serve --tcp=N off`: the state is empty and the public port refuses', async () => {
    const w = loopbackWorld();
    const publicPort = await freePort();
    const opened = await expose({ publicPort, pollInterval: 100 }, w);
    expect(await refuses(publicPort)).toBe(false);
    await opened.close();
    await opened.tunnel.close(); // idempotent
    expect(await opened.tunnel.done).toMatchObject({ reason: 'closed' });
    expect(serveConfig(w)).toEqual({});
    expect(await refuses(publicPort)).toBe(true);
    expect(await stopServeForwarders(w.stateFile)).toEqual([]);
    const offs = w.calls().filter((c) => c.argv.join(' ') === `serve --tcp=${publicPort} off`);
    expect(offs).toHaveLength(1);
  });
});

describe('expose: someone else’s serve config', () => {
  it.each([
    [{ TCPForward: '127.0.0.1:9' }, 'forwards to 127.0.0.1:9'],
    [{ HTTPS: true }, 'serves HTTPS'],
  ])('refuses a port that already %j, fatally, and leaves it untouched', async (handler, described) => {
    const w = remoteWorld();
    const publicPort = await freePort();
    const serve: FakeServeConfig = { TCP: { [publicPort]: handler } };
    updateTailscaleState(w.stateFile, (state) => {
      state.serve = serve;
    });
    const error = await exposeError({ publicPort, health: 'check' }, w);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.fatal).toBe(true);
    expect(error.message).toContain(
      `[tunnelmux] [tailscale] tailscale serve already uses tcp port ${publicPort}`,
    );
    expect(error.message).toContain(described);
    expect(error.message).toContain(`tailscale serve --tcp=${publicPort} off`);
    expect(serveConfig(w)).toEqual(serve);
    expect(w.calls().some((c) => c.argv.includes('--bg') || c.argv.includes('off'))).toBe(false);
  });

  it('uses an identical handler that was already there, and leaves it in place on stop', async () => {
    const w = remoteWorld();
    const publicPort = await freePort();
    const serve: FakeServeConfig = { TCP: { [publicPort]: { TCPForward: `localhost:${target.port}` } } };
    updateTailscaleState(w.stateFile, (state) => {
      state.serve = serve;
    });
    const opened = await expose({ publicPort, health: 'check', pollInterval: 100 }, w);
    expect(opened.logs.join('\n')).toContain('leaves it in place on stop');
    expect(opened.undos).toEqual([]);
    await opened.close();
    expect(serveConfig(w)).toEqual(serve);
    expect(w.calls().some((c) => c.argv.includes('--bg') || c.argv.includes('off'))).toBe(false);
  });
});

describe('expose: what dies and what is fatal', () => {
  it('settles done when someone runs `serve reset`, and does not try to withdraw what is gone', async () => {
    const w = loopbackWorld();
    const publicPort = await freePort();
    const opened = await expose({ publicPort, pollInterval: 100 }, w);
    expect((await tailscaleCli(w, ['serve', 'reset'])).code).toBe(0);
    const info = await opened.tunnel.done;
    expect(info.reason).toContain(`the serve handler for tcp port ${publicPort} is gone`);
    expect(info.fatal).toBeUndefined();
    await opened.close();
    expect(w.calls().some((c) => c.argv.includes('off'))).toBe(false);
  });

  it('settles done when the handler is taken over, and never removes the new owner’s handler', async () => {
    const w = remoteWorld();
    const publicPort = await freePort();
    const opened = await expose({ publicPort, health: 'check', pollInterval: 100 }, w);
    expect((await tailscaleCli(w, ['serve', '--bg', `--tcp=${publicPort}`, 'tcp://127.0.0.1:9'])).code).toBe(
      0,
    );
    expect((await opened.tunnel.done).reason).toContain(
      `was taken over outside tunnelmux: it now forwards to 127.0.0.1:9`,
    );
    await opened.close();
    expect(serveConfig(w)).toEqual({ TCP: { [publicPort]: { TCPForward: '127.0.0.1:9' } } });
  });

  it.each([
    ['Stopped', {}, 'Tailscale is stopped — run `tailscale up`'],
    [
      'NeedsLogin',
      { AuthURL: 'https://login.tailscale.com/a/abc' },
      'Tailscale is logged out — log in at https://login.tailscale.com/a/abc',
    ],
  ] as const)(
    'fails fatally when the backend is %s, publishing nothing',
    async (BackendState, extra, message) => {
      const w = remoteWorld({ BackendState, ...extra });
      const error = await exposeError({ health: 'check' }, w);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error.fatal).toBe(true);
      expect(error.message).toBe(`[tunnelmux] [tailscale] ${message}`);
      expect(serveConfig(w)).toBeUndefined();
    },
  );

  it('settles done when the backend stops while published; the public port then refuses', async () => {
    const w = loopbackWorld();
    const publicPort = await freePort();
    const opened = await expose({ publicPort, pollInterval: 100 }, w);
    updateTailscaleState(w.stateFile, (state) => {
      state.BackendState = 'Stopped';
    });
    expect((await opened.tunnel.done).reason).toBe('Tailscale is stopped — run `tailscale up`');
    await expect(bannerThrough(opened.tunnel.dial(AbortSignal.timeout(5000)))).rejects.toThrow();
  });

  it('rejects access options and a target off this machine’s loopback, as config errors', async () => {
    const w = remoteWorld();
    const withHost = await exposeError({ host: 'devbox' }, w);
    expect(withHost).toBeInstanceOf(ConfigError);
    expect(withHost.message).toContain('option "host": must be left out on an expose path');
    const offLoopback = await exposeError({ health: 'check' }, w, { host: '10.0.0.5', port: 22 });
    expect(offLoopback).toBeInstanceOf(ConfigError);
    expect(offLoopback.message).toContain('tailscale serve only forwards to a port on this machine');
    expect(w.calls()).toEqual([]);
  });

  it('an access path still needs "host", and refuses the expose-only options', async () => {
    const w = remoteWorld();
    const access = (options: Record<string, unknown>) =>
      openTailscale(options, w.env, target, 'access').then(
        async (opened) => {
          closers.push(opened.close);
          return undefined;
        },
        (error: unknown) => error as Error,
      );
    const noHost = await access({});
    expect(noHost).toBeInstanceOf(ConfigError);
    expect(noHost?.message).toContain('option "host": must be the peer to reach on an access path');
    const withPublicPort = await access({ host: 'devbox', publicPort: 2222 });
    expect(withPublicPort).toBeInstanceOf(ConfigError);
    expect(withPublicPort?.message).toContain('option "publicPort": must be left out on an access path');
    expect(w.calls()).toEqual([]);
  });

  it('follows the fault file: a black-holed forwarder gives no banner', async () => {
    const w = loopbackWorld();
    const publicPort = await freePort();
    const opened = await expose({ publicPort, pollInterval: 100 }, w);
    writeFaults(w.faultsFile, { mode: 'blackhole' });
    // The forwarder polls the fault file: wait (bounded) until it has picked the fault up, not a fixed time.
    const outcome = () =>
      bannerThrough(opened.tunnel.dial(AbortSignal.timeout(5000))).catch((error: Error) => error.message);
    await expect.poll(outcome, { timeout: 30_000, interval: 50 }).toMatch(/no banner/);
    writeFaults(w.faultsFile, {});
  });
});

describe('expose: under the manager', () => {
  it('announces the public URL, republishes after `serve reset`, and shutdown withdraws it', async () => {
    const w = loopbackWorld();
    const publicPort = await freePort();
    const manager = createManager({
      providers: [tailscale],
      env: w.env,
      target: `127.0.0.1:${target.port}`,
      protocol: 'ssh',
      metricsInterval: 0,
      failover: { interval: 200, backoffInitial: 100, backoffMax: 500 },
    });
    closers.push(() => manager.shutdown());
    const events: TunnelmuxEvent[] = [];
    manager.events.on((event) => events.push(event));
    await manager.start({
      id: 'ts',
      provider: 'tailscale',
      mode: 'expose',
      options: { publicPort, pollInterval: 100 },
    });
    const url = `tcp://laptop.tail1234.ts.net:${publicPort}`;
    expect(await until(() => manager.status('ts').state === 'connected')).toBe(true);
    expect(manager.status('ts').publicUrl).toBe(url);
    expect(events.some((e) => e.type === 'public-url' && 'publicUrl' in e && e.publicUrl === url)).toBe(true);

    expect((await tailscaleCli(w, ['serve', 'reset'])).code).toBe(0);
    // The poll notices, the manager reopens, and the handler is back.
    const republished = () =>
      w.calls().filter((c) => c.argv[0] === 'serve' && c.argv[1] === '--bg').length === 2 &&
      serveConfig(w)?.TCP?.[publicPort]?.TCPForward === `127.0.0.1:${target.port}`;
    expect(await until(republished, 20_000)).toBe(true);
    expect(await until(() => manager.status('ts').state === 'connected', 20_000)).toBe(true);

    await manager.shutdown();
    expect(serveConfig(w)).toEqual({});
    expect(await refuses(publicPort)).toBe(true);
    expect(await stopServeForwarders(w.stateFile)).toEqual([]);
  });
});

describe('expose: SIGKILL of tunnelmux', () => {
  it('withdraws the handler through the exit-time undo within a few seconds', async () => {
    const w = loopbackWorld();
    const publicPort = await freePort();
    const here = path.dirname(fileURLToPath(import.meta.url));
    const core = path.resolve(here, '../node_modules/@tunnelmux/core/dist/index.js');
    const provider = path.resolve(here, '../dist/index.js');
    // A tunnelmux stand-in: one expose path, "published" once it is up, then idle until killed.
    const script = `
      const { createManager } = await import(${JSON.stringify(core)});
      const { default: tailscale } = await import(${JSON.stringify(provider)});
      const manager = createManager({ providers: [tailscale], target: '127.0.0.1:${target.port}', metricsInterval: 0 });
      const status = await manager.start({ id: 'ts', provider: 'tailscale', mode: 'expose', options: { publicPort: ${publicPort}, pollInterval: 100 } });
      console.log(status.state === 'connected' ? 'published' : 'failed ' + JSON.stringify(status));
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: w.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const gone = new Promise((resolve) => parent.once('exit', resolve));
    closers.push(async () => {
      parent.kill('SIGKILL');
      await gone;
    });
    const said = await new Promise<string>((resolve, reject) => {
      parent.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      parent.once('exit', () => reject(new Error('the tunnelmux stand-in exited early')));
    });
    expect(said).toBe('published');
    expect(serveConfig(w)?.TCP?.[publicPort]).toBeDefined();
    expect(await refuses(publicPort)).toBe(false);
    parent.kill('SIGKILL');
    await gone;
    // The reaper notices the dead parent and runs `tailscale serve --tcp=N off`.
    expect(await until(() => serveConfig(w)?.TCP?.[publicPort] === undefined, 10_000)).toBe(true);
    expect(await until(() => refuses(publicPort), 5000)).toBe(true);
    expect(await stopServeForwarders(w.stateFile)).toEqual([]);
  });
});
