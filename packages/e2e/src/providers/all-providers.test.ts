import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createManager, type TunnelmuxEvent } from '@tunnelmux/core';
import { isAlive, startBannerServer } from '@tunnelmux/core/testing';
import cloudflare from '@tunnelmux/provider-cloudflare';
import ngrok from '@tunnelmux/provider-ngrok';
import tailscale from '@tunnelmux/provider-tailscale';
import {
  cloudflaredFakeEnv,
  defaultTailscaleState,
  fakeEnv,
  startFakeNgrokAgent,
  TAILSCALE_STATE_ENV,
  writeTailscaleState,
} from '@tunnelmux/testkit/fakes';
import { describe, expect, it } from 'vitest';
import { clientLoad, until } from '../front-door/clients';

describe('cloudflare, ngrok and tailscale at once, over their fake tools', () => {
  it('fails over cloudflare -> ngrok -> tailscale through the front door without losing a client', async () => {
    const target = await startBannerServer('SSH-2.0-all-three\r\n');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-all-three-'));
    // The far side of ngrok: an agent publishing the target on a loopback "public" port.
    const agent = await startFakeNgrokAgent({ port: target.port });
    // The tailnet: peer "devbox" serves port 22 on the target; no TUN device, so dials go through `tailscale nc`.
    const state = defaultTailscaleState({ TUN: false });
    state.Peers[0] = { ...state.Peers[0]!, ports: { '22': target.port } };
    const stateFile = path.join(dir, 'tailscale.json');
    writeTailscaleState(stateFile, state);
    const token = { id: 'client-id.access', secret: 'contract-secret-0123456789' };
    const env = {
      ...fakeEnv(),
      ...cloudflaredFakeEnv({ routes: { 'ssh.example.com': target }, serviceToken: token }),
      [TAILSCALE_STATE_ENV]: stateFile,
    };
    const manager = createManager({
      target: 'devbox:22',
      protocol: 'ssh',
      env,
      providers: [cloudflare, ngrok, tailscale],
      // Slow, deterministic restarts: a killed path stays down for the rest of the story (about 20 s).
      failover: {
        interval: 500,
        timeout: 2000,
        maxLatency: 2000,
        fall: 2,
        rise: 2,
        minDwell: 60_000,
        backoffInitial: 20_000,
      },
      random: () => 0.5,
      metricsInterval: 0,
    });
    const events: TunnelmuxEvent[] = [];
    manager.events.on((event) => events.push(event));
    try {
      const results = await manager.startMultiple([
        {
          id: 'cf',
          provider: 'cloudflare',
          options: {
            hostname: 'ssh.example.com',
            serviceTokenId: token.id,
            serviceTokenSecret: token.secret,
          },
        },
        { id: 'ng', provider: 'ngrok', options: { address: agent.publicUrl } },
        { id: 'ts', provider: 'tailscale', options: { host: 'devbox', dial: 'nc' } },
      ]);
      expect(results.map((r) => [r.id, r.ok, r.ok ? '' : r.error.message])).toEqual([
        ['cf', true, ''],
        ['ng', true, ''],
        ['ts', true, ''],
      ]);
      await until(() => manager.getPrimary() === 'cf', 10_000, 'cloudflare to be primary');
      const door = await manager.listen({ port: 0 });
      const idle = () => until(() => door.connections().length === 0, 5000, 'no open client connection');
      const load = clientLoad(door.address.port, 50, 10_000);
      await new Promise((r) => setTimeout(r, 1000));

      // cloudflared dies: the front door moves to ngrok at once.
      const cloudflared = manager.status('cf').pid!;
      await idle();
      process.kill(cloudflared, 'SIGKILL');
      await until(() => manager.getPrimary() === 'ng', 5000, 'ngrok to take over');
      await new Promise((r) => setTimeout(r, 1000));

      // The far ngrok agent dies: its address refuses, so tailscale takes over.
      await idle();
      await agent.kill();
      await until(() => manager.getPrimary() === 'ts', 10_000, 'tailscale to take over');
      await new Promise((r) => setTimeout(r, 1000));

      const { ok, failed } = await load.stop();
      expect(failed).toBe(0);
      expect(ok).toBeGreaterThan(40);
      const switches = events.filter((e) => e.type === 'failover').map((e) => `${e.from}->${e.to}`);
      expect(switches.slice(0, 2)).toEqual(['cf->ng', 'ng->ts']);
      expect(manager.status('ts').totalConnections).toBeGreaterThan(0);
      expect(manager.status('ng').totalConnections).toBeGreaterThan(0);
      expect(await isAlive(cloudflared)).toBe(false);
    } finally {
      await manager.shutdown();
      await agent.stop().catch(() => undefined);
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // Every tunnel process the manager started is gone.
    for (const path of manager.list()) if (path.pid) expect(await isAlive(path.pid)).toBe(false);
  }, 90_000);
});
