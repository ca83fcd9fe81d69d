import {
  ConfigError,
  createManager,
  ProviderError,
  type TunnelmuxEvent,
  validateOptions,
} from '@tunnelmux/core';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import {
  type FakeNgrokAgent,
  type FakeNgrokApi,
  startFakeNgrokAgent,
  startFakeNgrokApi,
} from '@tunnelmux/testkit/fakes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import provider from './index';
import { firstBytes, recordingContext } from './test-support';

const KEY = `access_${Math.random().toString(36).slice(2)}_secretkey`;

describe('access mode', () => {
  let target: BannerServer;
  let api: FakeNgrokApi;
  const agents: FakeNgrokAgent[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];

  // A far agent publishing the banner target, listed in the fake API under `metadata`.
  async function farAgent(metadata = 'home-ssh'): Promise<FakeNgrokAgent> {
    const agent = await startFakeNgrokAgent({ port: target.port, metadata });
    agents.push(agent);
    api.setEndpoints([{ port: agent.publicPort, metadata }]);
    return agent;
  }

  async function open(options: Record<string, unknown>, env: NodeJS.ProcessEnv = { NGROK_API_KEY: KEY }) {
    const ctx = recordingContext(env);
    const parsed = await validateOptions(provider, {
      apiUrl: api.url,
      refreshInterval: 0,
      resolveInterval: 0,
      ...options,
    });
    const tunnel = await provider.open(parsed, ctx);
    cleanups.push(() => tunnel.close());
    return { tunnel, ctx };
  }

  const settledYet = (promise: Promise<unknown>) =>
    Promise.race([promise.then(() => true), Promise.resolve().then(() => false)]);

  beforeAll(async () => {
    target = await startBannerServer();
    api = await startFakeNgrokApi({ apiKey: KEY });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    for (const agent of agents.splice(0)) await agent.stop();
  });
  afterAll(async () => {
    await api.close();
    await target.close();
  });

  it('looks the endpoint up, opens, and carries SSH-like traffic', async () => {
    const agent = await farAgent();
    const { tunnel, ctx } = await open({ metadata: 'home-ssh' });
    expect(tunnel.pid).toBeUndefined();
    expect(tunnel.endpoint).toBe(`127.0.0.1:${agent.publicPort}`);
    const socket = await tunnel.dial(AbortSignal.timeout(5000));
    expect(await firstBytes(socket)).toBe(target.banner);
    const echoed = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes('SSH-2.0-client\r\n')) resolve(text);
      });
    });
    socket.write('SSH-2.0-client\r\n');
    expect(await echoed).toBe('SSH-2.0-client\r\n');
    socket.destroy();
    expect(ctx.secrets).toEqual([KEY]);
    expect(await tunnel.check!(AbortSignal.timeout(5000))).toMatchObject({ ok: true });
  });

  it('follows the far agent when it restarts on a new port', async () => {
    const first = await farAgent();
    const { tunnel, ctx } = await open({ metadata: 'home-ssh' });
    await first.kill();
    const second = await farAgent();
    expect(second.publicPort).not.toBe(first.publicPort);
    // The dial hits the dead address, looks the endpoint up again and retries once at the new one.
    const socket = await tunnel.dial(AbortSignal.timeout(5000));
    expect(await firstBytes(socket)).toBe(target.banner);
    socket.destroy();
    expect(tunnel.endpoint).toBe(`127.0.0.1:${second.publicPort}`);
    expect(ctx.dialFailures).toEqual([`tcp://127.0.0.1:${first.publicPort}: connection refused`]);
    expect(ctx.logs.some((line) => line.includes(`moved to tcp://127.0.0.1:${second.publicPort}`))).toBe(
      true,
    );
    expect(await settledYet(tunnel.done)).toBe(false);
  });

  it('keeps a managed path connected across a far agent restart', async () => {
    const first = await farAgent();
    await using manager = createManager({
      providers: [provider],
      env: { ...process.env, NGROK_API_KEY: KEY },
      protocol: 'ssh',
      failover: { interval: 100, timeout: 3000, maxLatency: 3000 },
      metricsInterval: 0,
    });
    const states: string[] = [];
    manager.events.on((event) => {
      if (event.type === 'state-change') states.push(event.to);
    });
    const started = await manager.start({
      id: 'ngrok',
      provider: 'ngrok',
      target: `127.0.0.1:${target.port}`,
      options: { metadata: 'home-ssh', apiUrl: api.url, resolveInterval: 0, refreshInterval: 0 },
    });
    expect(started.state).toBe('connected');
    // The far agent comes back on a new port and the API lists it by the time the old address dies.
    const second = await farAgent();
    await first.kill();
    // The next probe dials the dead address, looks the endpoint up and goes through the new one.
    const deadline = Date.now() + 15_000;
    while (manager.status('ngrok').endpoint !== `127.0.0.1:${second.publicPort}` && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(manager.status('ngrok').endpoint).toBe(`127.0.0.1:${second.publicPort}`);
    expect(manager.status('ngrok').state).toBe('connected');
    expect(states).toEqual(['connecting', 'connected']);
  });

  it('notices a move by itself with refreshInterval', async () => {
    const first = await farAgent();
    const { tunnel } = await open({ metadata: 'home-ssh', refreshInterval: 50 });
    await first.kill();
    const second = await farAgent();
    const deadline = Date.now() + 10_000;
    while (tunnel.endpoint !== `127.0.0.1:${second.publicPort}` && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(tunnel.endpoint).toBe(`127.0.0.1:${second.publicPort}`);
  });

  it('looks up again at most once per resolveInterval', async () => {
    const agent = await farAgent();
    const { tunnel, ctx } = await open({ metadata: 'home-ssh', resolveInterval: '1h' });
    const before = api.requests.length;
    await agent.kill();
    for (let i = 0; i < 3; i++)
      await expect(tunnel.dial(AbortSignal.timeout(5000))).rejects.toThrow(/connection refused/);
    expect(api.requests.length).toBe(before);
    expect(ctx.dialFailures).toHaveLength(3);
  });

  it('ends the path when the API no longer lists the endpoint, and reopening waits for it (transient)', async () => {
    const agent = await farAgent();
    const { tunnel } = await open({ metadata: 'home-ssh' });
    await agent.kill();
    api.setEndpoints([]);
    await expect(tunnel.dial(AbortSignal.timeout(5000))).rejects.toThrow(ProviderError);
    const info = await tunnel.done;
    expect(info.reason).toContain('metadata "home-ssh" is no longer online');
    const error = await open({ metadata: 'home-ssh' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).fatal).toBe(false);
    expect((error as Error).message).toContain('is the far ngrok agent running?');
  });

  it('ends a fixed-address path when the address refuses', async () => {
    const agent = await startFakeNgrokAgent({ port: target.port });
    agents.push(agent);
    const { tunnel, ctx } = await open({ address: agent.publicUrl }, {});
    expect(tunnel.check).toBeUndefined();
    await agent.kill();
    await expect(tunnel.dial(AbortSignal.timeout(5000))).rejects.toThrow(/connection refused/);
    expect((await tunnel.done).reason).toContain('the far ngrok agent is gone');
    expect(ctx.dialFailures).toHaveLength(1);
  });

  // Core validates a path against its mode's schema, so an empty access path is caught before it opens.
  it.each([
    [{}, 'access mode needs one of "address"'],
    [{ url: 'tcp://1.tcp.ngrok.io:2', metadata: 'ssh' }, 'cannot be combined with "url" in access mode'],
    [{ metadata: 'ssh', config: '/etc/ngrok.yml' }, 'option "config" applies to mode "expose" only'],
  ])('rejects %o for an access path with a ConfigError', async (options, words) => {
    const error = await validateOptions(provider, options, { mode: 'access' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('[tunnelmux] [ngrok]');
    expect((error as Error).message).toContain(words);
  });

  it('says which variable to set when the API key is missing', async () => {
    await farAgent();
    const error = await open({ metadata: 'home-ssh', apiKeyEnv: 'MY_NGROK_KEY' }, {}).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /^\[tunnelmux\] \[ngrok\] environment variable MY_NGROK_KEY is not set/,
    );
  });

  it('keeps the API key out of logs, errors and events', async () => {
    const agent = await farAgent();
    const { tunnel, ctx } = await open({ metadata: 'home-ssh' });
    await agent.kill();
    await farAgent();
    (await tunnel.dial(AbortSignal.timeout(5000))).destroy();
    await tunnel.check!(AbortSignal.timeout(5000));
    const rejected = await open({ metadata: 'home-ssh' }, { NGROK_API_KEY: `${KEY}x` }).catch(
      (e: unknown) => e,
    );
    expect(rejected).toBeInstanceOf(ProviderError);
    // The fake API echoes a rejected key in its message, as the real one does; it must stop there.
    expect(`${(rejected as Error).message} ${String((rejected as Error).cause)}`).not.toContain(KEY);
    expect(ctx.logs.join('\n')).not.toContain(KEY);
    expect(ctx.dialFailures.join('\n')).not.toContain(KEY);

    await using manager = createManager({
      providers: [provider],
      env: { ...process.env, NGROK_API_KEY: KEY },
      failover: { interval: 100, timeout: 2000, maxLatency: 2000 },
      metricsInterval: 0,
    });
    const events: TunnelmuxEvent[] = [];
    manager.events.on((event) => events.push(event));
    const status = await manager.start({
      id: 'ngrok',
      provider: 'ngrok',
      target: `127.0.0.1:${target.port}`,
      options: { metadata: 'home-ssh', apiUrl: api.url, resolveInterval: 0 },
    });
    expect(status.state).toBe('connected');
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain(KEY);
  });

  it('reports a rejected API key once, as fatal, without retrying', async () => {
    await farAgent();
    await using manager = createManager({
      providers: [provider],
      env: { ...process.env, NGROK_API_KEY: 'wrong_api_key_value' },
      failover: { backoffInitial: 10, backoffMax: 20 },
      metricsInterval: 0,
    });
    const errors: TunnelmuxEvent[] = [];
    manager.events.on((event) => {
      if (event.type === 'error') errors.push(event);
    });
    const before = api.requests.length;
    const status = await manager.start({
      id: 'ngrok',
      provider: 'ngrok',
      target: `127.0.0.1:${target.port}`,
      options: { metadata: 'home-ssh', apiUrl: api.url },
    });
    expect(status.state).toBe('failed');
    expect(status.lastError).toContain('check NGROK_API_KEY');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ type: 'error', fatal: true, provider: 'ngrok' });
    expect(api.requests.length - before).toBe(1);
    expect(JSON.stringify(errors)).not.toContain('wrong_api_key_value');
  });
});
