import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createManager, type TunnelmuxEvent } from '@tunnelmux/core';
import { isAlive, startBannerServer } from '@tunnelmux/core/testing';
import cloudflare from '@tunnelmux/provider-cloudflare';
import ngrok from '@tunnelmux/provider-ngrok';
import tailscale from '@tunnelmux/provider-tailscale';
import { freePort } from '@tunnelmux/testkit';
import {
  cloudflaredFakeEnv,
  defaultTailscaleState,
  fakeEnv,
  fakeNgrokAccounts,
  fakeNgrokAuthtoken,
  makeTunnelToken,
  readTailscaleState,
  stopServeForwarders,
  TAILSCALE_STATE_ENV,
  writeTailscaleState,
} from '@tunnelmux/testkit/fakes';
import { describe, expect, it } from 'vitest';
import { until } from '../front-door/clients';

/** Read the first bytes at `host:port`; rejects on refusal, reset or silence. */
function bannerAt(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(5000, () => socket.destroy(new Error(`no banner from ${host}:${port}`)));
    socket.once('data', (chunk: Buffer) => {
      socket.destroy();
      resolve(chunk.toString('latin1'));
    });
    socket.once('error', reject);
  });
}

const portOf = (url: string) => Number(new URL(url).port);

describe('expose one local port through several providers at once', () => {
  it('keeps every public address reachable while one publication is killed, and withdraws all on stop', async () => {
    const service = await startBannerServer('SSH-2.0-exposed-everywhere\r\n');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-expose-all-'));
    // This node's tailnet IP is 127.0.0.1 in the fake world, so `tailscale serve` answers on loopback.
    const stateFile = path.join(dir, 'tailscale.json');
    writeTailscaleState(
      stateFile,
      defaultTailscaleState({
        Self: { HostName: 'devbox', TailscaleIPs: ['127.0.0.1', 'fd7a:115c:a1e0::1'] },
      }),
    );
    const tailnetPort = await freePort();
    // Cloudflare's fake edge publishes the tunnel's ingress (the service) on a fixed loopback "public" port.
    const edgePort = await freePort();
    const tunnelSecret = 'tunnel-secret-0123456789abcdef';
    const ngrokToken = fakeNgrokAuthtoken();
    const env = {
      ...fakeEnv(),
      ...cloudflaredFakeEnv({ routes: {}, ingress: service, edgePort, tunnelSecret }),
      TUNNEL_TOKEN_FOR_TEST: makeTunnelToken({ s: tunnelSecret }),
      [TAILSCALE_STATE_ENV]: stateFile,
      NGROK_AUTHTOKEN: ngrokToken,
      ...fakeNgrokAccounts([ngrokToken]),
    };
    const manager = createManager({
      target: service,
      protocol: 'ssh',
      env,
      providers: [cloudflare, ngrok, tailscale],
      failover: { interval: 500, timeout: 2000, maxLatency: 2000, fall: 2, rise: 1, backoffInitial: 200 },
      metricsInterval: 0,
    });
    const events: TunnelmuxEvent[] = [];
    manager.events.on((event) => events.push(event));
    const urls = () =>
      new Map(events.flatMap((e) => (e.type === 'public-url' ? [[e.pathId, e.publicUrl] as const] : [])));
    try {
      const results = await manager.startMultiple([
        {
          id: 'cloudflare',
          provider: 'cloudflare',
          mode: 'expose',
          options: { tunnelTokenEnv: 'TUNNEL_TOKEN_FOR_TEST', publicAddress: `127.0.0.1:${edgePort}` },
        },
        { id: 'ngrok', provider: 'ngrok', mode: 'expose', options: {} },
        { id: 'tailscale', provider: 'tailscale', mode: 'expose', options: { publicPort: tailnetPort } },
      ]);
      expect(results.map((r) => [r.id, r.ok, r.ok ? '' : r.error.message])).toEqual([
        ['cloudflare', true, ''],
        ['ngrok', true, ''],
        ['tailscale', true, ''],
      ]);
      const first = urls();
      expect(first.get('ngrok')).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(first.get('tailscale')).toBe(`tcp://devbox.tail1234.ts.net:${tailnetPort}`);
      expect(manager.status('tailscale').publicUrl).toBe(first.get('tailscale'));
      // A client reaches the service through each public address.
      expect(await bannerAt('127.0.0.1', portOf(first.get('ngrok')!))).toBe(service.banner);
      expect(await bannerAt('127.0.0.1', tailnetPort)).toBe(service.banner);
      expect(first.get('cloudflare')).toBe(`tcp://127.0.0.1:${edgePort}`);
      expect(await bannerAt('127.0.0.1', edgePort)).toBe(service.banner);

      // The ngrok agent dies: the tailnet address keeps working, and ngrok comes back on a new address.
      const agent = manager.status('ngrok').pid!;
      process.kill(agent, 'SIGKILL');
      expect(await bannerAt('127.0.0.1', tailnetPort)).toBe(service.banner);
      expect(await bannerAt('127.0.0.1', edgePort)).toBe(service.banner);
      await until(
        () => urls().get('ngrok') !== first.get('ngrok') && manager.status('ngrok').state === 'connected',
        15_000,
        'ngrok to republish',
      );
      expect(await bannerAt('127.0.0.1', portOf(urls().get('ngrok')!))).toBe(service.banner);
      expect(await isAlive(agent)).toBe(false);

      const ngrokPid = manager.status('ngrok').pid!;
      const cloudflaredPid = manager.status('cloudflare').pid!;
      await manager.shutdown();
      // Nothing stays published: the processes are gone, the tailnet handler removed, every port refuses.
      expect(await isAlive(ngrokPid)).toBe(false);
      expect(await isAlive(cloudflaredPid)).toBe(false);
      await expect(bannerAt('127.0.0.1', edgePort)).rejects.toThrow();
      expect(readTailscaleState(stateFile)?.serve?.TCP ?? {}).toEqual({});
      await expect(bannerAt('127.0.0.1', tailnetPort)).rejects.toThrow();
      await expect(bannerAt('127.0.0.1', portOf(urls().get('ngrok')!))).rejects.toThrow();
    } finally {
      await manager.shutdown();
      await stopServeForwarders(stateFile);
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
