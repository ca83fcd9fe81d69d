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
    const tunnels: { id: string; pid: number }[] = [];
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
      // Clients flow through each primary before it is killed (not a fixed wait: a count of connections served).
      const served = (id: string, count: number) => {
        const before = manager.status(id).totalConnections;
        return until(
          () => manager.status(id).totalConnections >= before + count,
          10_000,
          `${count} clients via ${id}`,
        );
      };
      await served('cf', 15);

      // cloudflared dies: the front door moves to ngrok at once.
      const cloudflared = manager.status('cf').pid!;
      await idle();
      process.kill(cloudflared, 'SIGKILL');
      await until(() => manager.getPrimary() === 'ng', 5000, 'ngrok to take over');
      await served('ng', 15);

      // The far ngrok agent dies: its address refuses, so tailscale takes over.
      await idle();
      await agent.kill();
      await until(() => manager.getPrimary() === 'ts', 10_000, 'tailscale to take over');
      await served('ts', 15);

      const { ok, failed } = await load.stop();
      expect(failed).toBe(0);
      expect(ok).toBeGreaterThan(40);
      const switches = events.filter((e) => e.type === 'failover').map((e) => `${e.from}->${e.to}`);
      expect(switches.slice(0, 2)).toEqual(['cf->ng', 'ng->ts']);
      expect(manager.status('ts').totalConnections).toBeGreaterThan(0);
      expect(manager.status('ng').totalConnections).toBeGreaterThan(0);
      expect(await isAlive(cloudflared)).toBe(false);

      // cloudflared is brought back by hand, so a tunnel process is running when the manager shuts down.
      const back = await manager.restart('cf');
      expect(back.state).toBe('connected');
      expect(back.pid).toBeGreaterThan(0);
      expect(await isAlive(back.pid!)).toBe(true);
    } finally {
      // The pids before shutdown: shutdown clears them from the status.
      tunnels.push(...manager.list().flatMap((path) => (path.pid ? [{ id: path.id, pid: path.pid }] : [])));
      await manager.shutdown();
      await agent.stop().catch(() => undefined);
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // Every tunnel process the manager still ran is gone.
    expect(tunnels.map((tunnel) => tunnel.id)).toEqual(['cf']);
    for (const { id, pid } of tunnels)
      expect(await isAlive(pid), `${id} (pid ${pid}) outlived shutdown`).toBe(false);
  }, 90_000);
});
