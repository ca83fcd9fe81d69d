// Stopping tunnelmux withdraws the publication: no cloudflared left, the fake edge's public port refuses.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createManager } from '@tunnelmux/core';
import { type BannerServer, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import { cloudflaredFakeEnv, fakeEnv, makeTunnelToken } from '@tunnelmux/testkit/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cloudflare from './index';
import { freeLoopbackPort, readBanner, refuses, until } from './test-support';

const TOKEN = makeTunnelToken({ s: 'tunnel-secret-orphan-0f3b9c2d7e' });
const CORE = fileURLToPath(new URL('../../core/dist/index.js', import.meta.url));
const PROVIDER = fileURLToPath(new URL('../dist/index.js', import.meta.url));

let service: BannerServer;
beforeAll(async () => {
  service = await startBannerServer();
});
afterAll(async () => {
  await service.close();
});

describe('cloudflare expose: nothing stays published after tunnelmux stops', () => {
  it('SIGKILL of the owning tunnelmux process leaves no cloudflared and the public port refusing', async () => {
    const edgePort = await freeLoopbackPort();
    // A tunnelmux stand-in: core and this provider (built), one expose path, prints cloudflared's pid once up.
    const script = `
      const { createManager } = await import(${JSON.stringify(CORE)});
      const { default: cloudflare } = await import(${JSON.stringify(PROVIDER)});
      const manager = createManager({ target: '127.0.0.1:${service.port}', providers: [cloudflare], metricsInterval: 0,
        failover: { openTimeout: 20000 } });
      const status = await manager.start({ id: 'cf', provider: 'cloudflare', mode: 'expose',
        options: { tunnelTokenEnv: 'CF_TUNNEL_TOKEN', publicAddress: '127.0.0.1:${edgePort}' } });
      console.log(JSON.stringify({ state: status.state, pid: status.pid }));
      setInterval(() => {}, 1000);`;
    const env = fakeEnv({
      ...cloudflaredFakeEnv({ routes: {}, ingress: service, edgePort }),
      CF_TUNNEL_TOKEN: TOKEN,
    });
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const parentExited = new Promise<void>((resolve) => parent.once('exit', () => resolve()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let text = '';
        parent.stdout!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('\n')) resolve(text.trim());
        });
        parent.once('exit', () => reject(new Error(`tunnelmux stand-in exited early: ${text}`)));
      });
      const { state, pid } = JSON.parse(line) as { state: string; pid: number };
      expect(state).toBe('connected');
      expect(await isAlive(pid)).toBe(true);
      expect(await readBanner(edgePort, service.banner)).toBe(service.banner);
      parent.kill('SIGKILL');
      await parentExited;
      await until(async () => !(await isAlive(pid)), 5000, 'cloudflared to die with its owner');
      await until(() => refuses(edgePort), 5000, 'the public port to refuse');
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('manager.shutdown() (Ctrl-C) stops cloudflared and the public port refuses', async () => {
    const edgePort = await freeLoopbackPort();
    const manager = createManager({
      env: fakeEnv(cloudflaredFakeEnv({ routes: {}, ingress: service, edgePort })),
      target: service,
      providers: [cloudflare],
      metricsInterval: 0,
      failover: { openTimeout: 20_000 },
    });
    try {
      const status = await manager.start({
        id: 'cf',
        provider: 'cloudflare',
        mode: 'expose',
        options: { tunnelToken: TOKEN, publicAddress: `127.0.0.1:${edgePort}` },
      });
      expect(status.state).toBe('connected');
      const pid = status.pid!;
      expect(await readBanner(edgePort, service.banner)).toBe(service.banner);
      await manager.shutdown();
      expect(await isAlive(pid)).toBe(false);
      await until(() => refuses(edgePort), 5000, 'the public port to refuse');
    } finally {
      await manager.shutdown();
    }
  });
});
