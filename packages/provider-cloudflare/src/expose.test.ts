import { readFile } from 'node:fs/promises';
import {
  ConfigError,
  createManager,
  ProviderError,
  type Tunnel,
  type TunnelmuxEvent,
  validateOptions,
} from '@tunnelmux/core';
import { type BannerServer, commandLine, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import {
  type CloudflaredFakeSetup,
  type CloudflaredFaults,
  cloudflaredFakeEnv,
  fakeEnv,
  makeTunnelToken,
  writeCloudflaredFaults,
} from '@tunnelmux/testkit/fakes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import cloudflare from './index';
import {
  childrenMatching,
  freeLoopbackPort,
  type Harness,
  openHarness,
  readBanner,
  refuses,
  tempDir,
  until,
} from './test-support';

const SECRET = 'tunnel-secret-5f0c2a9e61d94c0b8d7a3e21';
const TOKEN = makeTunnelToken({ s: SECRET });

let service: BannerServer;
const temp = tempDir();
const cleanups: Array<() => Promise<unknown>> = [];
// Fixed public ports for the tests that name them in options.
let edgePort0 = 0;
let edgePort1 = 0;

beforeAll(async () => {
  service = await startBannerServer();
  edgePort0 = await freeLoopbackPort();
  edgePort1 = await freeLoopbackPort();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await service.close();
  temp.remove();
});

interface Opened {
  harness: Harness;
  tunnel: Tunnel;
  publicUrls: string[];
  edgePort: number;
}

/** A fake-cloudflared environment publishing the banner service on a fixed loopback edge port. */
async function fakeSetup(setup: Partial<CloudflaredFakeSetup> = {}, extraEnv: NodeJS.ProcessEnv = {}) {
  const edgePort = setup.edgePort ?? (await freeLoopbackPort());
  const env = fakeEnv({
    ...cloudflaredFakeEnv({ routes: {}, ingress: service, edgePort, ...setup }),
    ...extraEnv,
  });
  return { env, edgePort };
}

/** Open an expose path directly (no manager), recording logs before redaction and announced URLs. */
async function openExpose(
  options: Record<string, unknown>,
  setup: Partial<CloudflaredFakeSetup> = {},
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<Opened> {
  const { env, edgePort } = await fakeSetup(setup, extraEnv);
  const harness = await openHarness(env, service);
  cleanups.push(() => harness.close());
  const publicUrls: string[] = [];
  harness.ctx = {
    ...harness.ctx,
    mode: 'expose',
    setPublicUrl: (url) => {
      publicUrls.push(url);
    },
  };
  const valid = await validateOptions(cloudflare, options, { mode: 'expose' });
  const tunnel = await cloudflare.open(valid, harness.ctx);
  cleanups.push(() => tunnel.close());
  return { harness, tunnel, publicUrls, edgePort };
}

/** Open expecting a failure; returns the error. */
async function openFails(
  options: Record<string, unknown>,
  setup: Partial<CloudflaredFakeSetup> = {},
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<unknown> {
  return openExpose(options, setup, extraEnv).then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** A manager over the fake, with probes fast enough for tests (bounded by generous timeouts). */
function managerFor(env: NodeJS.ProcessEnv) {
  const manager = createManager({
    env,
    target: service,
    // The local service is SSH-like: probes through the public side wait for its banner, so a black hole fails.
    protocol: 'ssh',
    providers: [cloudflare],
    metricsInterval: 0,
    failover: {
      interval: 200,
      timeout: 2000,
      maxLatency: 2000,
      fall: 2,
      rise: 1,
      backoffInitial: 100,
      backoffMax: 500,
      openTimeout: 20_000,
      drainBeforeRestart: 100,
    },
  });
  const events: TunnelmuxEvent[] = [];
  manager.events.on((event) => events.push(event));
  cleanups.push(() => manager.shutdown());
  return { manager, events };
}

describe('cloudflare expose: named tunnel', () => {
  it('is ready when /ready answers 200, and dial reaches the local service through the public port', async () => {
    const { tunnel, edgePort, publicUrls } = await openExpose(
      {
        tunnelToken: TOKEN,
        publicAddress: `127.0.0.1:${edgePort0}`,
        publicHostname: 'SSH.Example.com',
      },
      { edgePort: edgePort0 },
    );
    expect(edgePort).toBe(edgePort0);
    expect(tunnel.health).toBe('dial');
    expect(tunnel.endpoint).toBe(`127.0.0.1:${edgePort0}`);
    // The public hostname is for display; it is announced as soon as the tunnel is up.
    expect(publicUrls).toEqual(['https://ssh.example.com']);
    expect(tunnel.publicUrl).toBe('https://ssh.example.com');
    expect(await readBanner(edgePort0, service.banner)).toBe(service.banner);
    const check = await tunnel.check!(AbortSignal.timeout(5000));
    expect(check).toMatchObject({ ok: true, detail: 'readyConnections: 4' });
  });

  it('gives the token to cloudflared only as TUNNEL_TOKEN, and keeps it out of argv and logs', async () => {
    const { tunnel, harness } = await openExpose({ tunnelToken: TOKEN });
    const pid = tunnel.pid!;
    const argv = await commandLine(pid);
    expect(argv).toContain('tunnel --no-autoupdate --metrics 127.0.0.1:');
    expect(argv).not.toContain(TOKEN);
    expect(argv).not.toContain(SECRET);
    const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    expect(environ).toContain(`TUNNEL_TOKEN=${TOKEN}`);
    // Recorded before core's redaction, so a leak would show here.
    const logged = JSON.stringify(harness.logs);
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain(SECRET);
    // Levels and fields are kept.
    expect(harness.logs).toContainEqual({
      level: 'info',
      message: 'Registered tunnel connection',
      fields: expect.objectContaining({ connIndex: '0', location: 'fra08', protocol: 'quic' }),
    });
  });

  it('reads the token from the variable tunnelTokenEnv names, and does not pass that variable on', async () => {
    const { tunnel } = await openExpose(
      { tunnelTokenEnv: 'CF_TUNNEL_TOKEN' },
      {},
      { CF_TUNNEL_TOKEN: TOKEN },
    );
    const environ = (await readFile(`/proc/${tunnel.pid}/environ`, 'utf8')).split('\0');
    expect(environ).toContain(`TUNNEL_TOKEN=${TOKEN}`);
    // cloudflared logs every *TUNNEL_* variable in clear, so the source variable must not reach it.
    expect(environ.some((entry) => entry.startsWith('CF_TUNNEL_TOKEN='))).toBe(false);
    expect(tunnel.health).toBe('check');
  });

  it('fails with a ConfigError when the variable tunnelTokenEnv names is not set', async () => {
    const error = await openFails(
      { tunnelTokenEnv: 'CF_TUNNEL_TOKEN_UNSET' },
      {},
      { CF_TUNNEL_TOKEN_UNSET: '' },
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('CF_TUNNEL_TOKEN_UNSET');
  });

  it('is fatal with a clear message when the token is malformed (exit 255)', async () => {
    const error = await openFails({ tunnelToken: 'not-a-tunnel-token' });
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).fatal).toBe(true);
    expect((error as Error).message).toContain('Provided Tunnel token is not valid.');
    expect((error as Error).message).toContain('cloudflared tunnel token <name>');
    expect(await childrenMatching('--no-autoupdate')).toEqual([]);
  });

  it('is fatal when the edge answers Unauthorized until cloudflared gives up (exit 1)', async () => {
    const error = await openFails({ tunnelToken: TOKEN }, { tunnelSecret: 'some-other-secret' });
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).fatal).toBe(true);
    expect((error as Error).message).toContain('Unauthorized: Invalid tunnel secret');
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('fails open (not fatal) with the last lines when cloudflared crashes at start', async () => {
    const faults = `${temp.dir}/crash-start.json`;
    writeCloudflaredFaults(faults, { startup: 'crash' });
    const error = await openFails({ tunnelToken: TOKEN }, { faultsFile: faults });
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).fatal).toBe(false);
    expect((error as Error).message).toContain('cloudflared exited (code 2) before the tunnel was ready');
    expect((error as ProviderError).lastLines?.join('\n')).toContain('panic: fake crash at start-up');
  });

  it('never takes the start-up lines for readiness, and leaves no process when the open is aborted', async () => {
    const faults = `${temp.dir}/hang.json`;
    writeCloudflaredFaults(faults, { startup: 'hang' });
    const { env } = await fakeSetup({ faultsFile: faults });
    const harness = await openHarness(env, service);
    cleanups.push(() => harness.close());
    const ctx = { ...harness.ctx, mode: 'expose' as const };
    const opening = cloudflare.open(
      await validateOptions(cloudflare, { tunnelToken: TOKEN }, { mode: 'expose' }),
      ctx,
    );
    const settled = opening.then(
      () => 'opened',
      () => 'failed',
    );
    // The metrics server is up (Starting metrics server was logged) but /ready says 503.
    await until(
      () => harness.logs.some((log) => log.message.startsWith('Starting metrics server on')),
      15_000,
      'the metrics server line',
    );
    const [pid] = await childrenMatching('--no-autoupdate');
    expect(pid).toBeDefined();
    harness.abort();
    expect(await settled).toBe('failed');
    await until(async () => !(await isAlive(pid!)), 10_000, 'cloudflared to exit');
  });

  it('reports a crash after open through done, not fatal', async () => {
    const faults = `${temp.dir}/crash-later.json`;
    writeCloudflaredFaults(faults, {});
    const { tunnel } = await openExpose({ tunnelToken: TOKEN }, { faultsFile: faults });
    writeCloudflaredFaults(faults, { mode: 'crash' } as CloudflaredFaults);
    const info = await tunnel.done;
    expect(info.fatal).toBeFalsy();
    expect(info.exit?.code).toBe(2);
    expect(info.lastLines?.join('\n')).toContain('panic: fake crash');
  });

  it('ends with a fatal exit when the edge starts answering Unauthorized (token revoked)', async () => {
    const faults = `${temp.dir}/revoked.json`;
    writeCloudflaredFaults(faults, {});
    const { tunnel } = await openExpose({ tunnelToken: TOKEN }, { faultsFile: faults });
    writeCloudflaredFaults(faults, { startup: 'auth' });
    const info = await tunnel.done;
    expect(info).toMatchObject({ exit: { code: 1 }, fatal: true });
    expect(info.reason).toContain('Unauthorized: Invalid tunnel secret');
  });

  it('check() sees readiness lost (/ready 503) and regained', async () => {
    const faults = `${temp.dir}/ready503.json`;
    writeCloudflaredFaults(faults, {});
    const { tunnel, edgePort, harness } = await openExpose(
      { tunnelToken: TOKEN, publicAddress: `127.0.0.1:${edgePort1}` },
      { faultsFile: faults, edgePort: edgePort1 },
    );
    expect(edgePort).toBe(edgePort1);
    writeCloudflaredFaults(faults, { mode: 'ready503' });
    await until(async () => !(await tunnel.check!(AbortSignal.timeout(5000))).ok, 10_000, '/ready 503');
    const lost = await tunnel.check!(AbortSignal.timeout(5000));
    expect(lost.detail).toContain('/ready answered 503, readyConnections: 0');
    expect(harness.logs.some((log) => log.level === 'error' && log.message === 'Serve tunnel error')).toBe(
      true,
    );
    // With no edge connection the public side cannot reach the service either.
    await expect(readBanner(edgePort1, service.banner, 2000)).rejects.toThrow();
    writeCloudflaredFaults(faults, {});
    await until(async () => (await tunnel.check!(AbortSignal.timeout(5000))).ok, 10_000, '/ready 200');
    expect(await readBanner(edgePort1, service.banner)).toBe(service.banner);
  });

  it('stops with SIGTERM: cloudflared unregisters its connections and the public port refuses', async () => {
    const { tunnel, harness, edgePort } = await openExpose({ tunnelToken: TOKEN });
    expect(await refuses(edgePort)).toBe(false);
    await tunnel.close();
    expect(await isAlive(tunnel.pid!)).toBe(false);
    expect(await refuses(edgePort)).toBe(true);
    expect(harness.logs.map((log) => log.message)).toContain('Unregistered tunnel connection');
  });
});

describe('cloudflare expose: through a manager', () => {
  it('goes down when /ready answers 503 and comes back when it answers 200 again', async () => {
    const faults = `${temp.dir}/manager-ready503.json`;
    writeCloudflaredFaults(faults, {});
    const { env } = await fakeSetup({ faultsFile: faults });
    const { manager, events } = managerFor(env);
    const started = await manager.start({
      id: 'cf',
      provider: 'cloudflare',
      mode: 'expose',
      options: { tunnelToken: TOKEN },
    });
    expect(started).toMatchObject({ state: 'connected' });
    writeCloudflaredFaults(faults, { mode: 'ready503' });
    await until(() => manager.status('cf')?.state !== 'connected', 20_000, 'the path to go down');
    writeCloudflaredFaults(faults, {});
    await until(() => manager.status('cf')?.state === 'connected', 25_000, 'the path to come back');
    const changes = events.flatMap((event) => (event.type === 'state-change' ? [event.to] : []));
    expect(changes).toContain('connected');
    expect(changes.filter((state) => state === 'connected').length).toBeGreaterThanOrEqual(2);
  });

  it('with publicAddress, probes dial the public side: a black-holed edge takes the path down', async () => {
    const faults = `${temp.dir}/manager-blackhole.json`;
    writeCloudflaredFaults(faults, {});
    const { env, edgePort } = await fakeSetup({ faultsFile: faults });
    const { manager } = managerFor(env);
    const started = await manager.start({
      id: 'cf',
      provider: 'cloudflare',
      mode: 'expose',
      options: { tunnelToken: TOKEN, publicAddress: `127.0.0.1:${edgePort}` },
    });
    expect(started).toMatchObject({ state: 'connected', endpoint: `127.0.0.1:${edgePort}` });
    // /ready still answers 200 here: only the end-to-end dial can see this.
    writeCloudflaredFaults(faults, { mode: 'blackhole' });
    await until(() => manager.status('cf')?.state !== 'connected', 20_000, 'the path to go down');
    writeCloudflaredFaults(faults, {});
    await until(() => manager.status('cf')?.state === 'connected', 25_000, 'the path to come back');
  });

  it('reports a malformed token once, as fatal, and does not restart', async () => {
    const { env } = await fakeSetup();
    const { manager, events } = managerFor(env);
    const started = await manager.start({
      id: 'cf',
      provider: 'cloudflare',
      mode: 'expose',
      options: { tunnelToken: 'bad-token' },
    });
    expect(started).toMatchObject({ state: 'failed' });
    // No event marks "did not restart": give a wrong restart loop (backoff 100 ms) time to show itself.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const errors = events.filter((event) => event.type === 'error');
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors[0])).toContain('Provided Tunnel token is not valid.');
    expect(manager.status('cf')).toMatchObject({ state: 'failed', restarts: 0 });
  });

  it('announces a quick tunnel URL as an event and in status', async () => {
    const { env } = await fakeSetup();
    const { manager, events } = managerFor(env);
    await manager.start({
      id: 'quick',
      provider: 'cloudflare',
      mode: 'expose',
      options: { quickTunnel: true },
    });
    const status = manager.status('quick');
    expect(status?.state).toBe('connected');
    expect(status?.publicUrl).toMatch(/^https:\/\/[a-z]+(-[a-z]+)+\.trycloudflare\.com$/);
    const announced = events.filter((event) => event.type === 'public-url');
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatchObject({ pathId: 'quick', publicUrl: status?.publicUrl });
  });
});

describe('cloudflare expose: quick tunnel', () => {
  it('runs cloudflared tunnel --url for the local service and reads the URL', async () => {
    const { tunnel, publicUrls, harness } = await openExpose({ quickTunnel: true });
    expect(publicUrls).toHaveLength(1);
    expect(publicUrls[0]).toMatch(/^https:\/\/[a-z]+(-[a-z]+)+\.trycloudflare\.com$/);
    expect(tunnel.publicUrl).toBe(publicUrls[0]);
    // The same URL is in the log box cloudflared printed.
    expect(harness.logs.some((log) => log.message.includes(publicUrls[0]!))).toBe(true);
    expect(await commandLine(tunnel.pid!)).toContain(`--url http://127.0.0.1:${service.port}`);
    expect(tunnel.health).toBe('check');
    expect((await tunnel.check!(AbortSignal.timeout(5000))).ok).toBe(true);
    await expect(tunnel.dial(AbortSignal.timeout(2000))).rejects.toThrow(/publicAddress/);
  });

  it('dials the public address end to end when one is given', async () => {
    const { tunnel, edgePort } = await openExpose(
      { quickTunnel: true, publicAddress: `127.0.0.1:${edgePort1}` },
      { edgePort: edgePort1 },
    );
    expect(edgePort).toBe(edgePort1);
    const socket = await tunnel.dial(AbortSignal.timeout(5000));
    const banner = await new Promise<string>((resolve, reject) => {
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1')));
      socket.once('error', reject);
    });
    socket.destroy();
    expect(banner).toBe(service.banner);
  });
});

describe('cloudflare expose: options and modes', () => {
  it('refuses access options on an expose path and expose options on an access path', async () => {
    const { env } = await fakeSetup();
    const harness = await openHarness(env, service);
    cleanups.push(() => harness.close());
    // Core picks the schema by the path's mode, so the mismatch is refused before anything runs.
    await expect(
      validateOptions(cloudflare, { hostname: 'ssh.example.com' }, { mode: 'expose' }),
    ).rejects.toThrow(ConfigError);
    await expect(validateOptions(cloudflare, { tunnelToken: TOKEN }, { mode: 'access' })).rejects.toThrow(
      /mode: expose/,
    );
  });

  it('names what is wrong in expose options', async () => {
    const reject = async (options: unknown) =>
      (
        (await validateOptions(cloudflare, options, { mode: 'expose' }).catch(
          (error: unknown) => error,
        )) as Error
      ).message;
    expect(await reject({ publicHostname: 'ssh.example.com' })).toContain(
      'option "tunnelToken": is required for an expose path',
    );
    expect(await reject({ tunnelToken: 'x', quickTunnel: true })).toContain(
      'option "quickTunnel": cannot be combined with "tunnelToken"',
    );
    expect(await reject({ tunnelToken: 'x', port: 2222 })).toContain('option "port": is an access option');
    expect(await reject({ tunnelToken: 'x', publicAddress: 'nope' })).toContain(
      'option "publicAddress": must be host:port',
    );
  });
});
