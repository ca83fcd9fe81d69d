import { readFile } from 'node:fs/promises';
import { createManager } from '@tunnelmux/core';
import { startBannerServer } from '@tunnelmux/core/testing';
import cloudflare from '@tunnelmux/provider-cloudflare';
import ngrok from '@tunnelmux/provider-ngrok';
import ssh from '@tunnelmux/provider-ssh';
import { freePort, jumpPathOptions, startSshd } from '@tunnelmux/testkit';
import {
  cloudflaredFakeEnv,
  fakeEnv,
  fakeNgrokAccounts,
  fakeNgrokAuthtoken,
  makeTunnelToken,
} from '@tunnelmux/testkit/fakes';
import { describe, expect, it } from 'vitest';

/** The environment a running process was started with, from /proc. */
async function environOf(pid: number): Promise<Map<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  return new Map(
    raw
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)] as const),
  );
}

// Once, every child got tunnelmux's whole environment: ssh and the ngrok agent saw CF_SECRET, cloudflared saw
// NGROK_AUTHTOKEN, a second cloudflare path saw the first one's secret, and all of them saw GITHUB_TOKEN.
describe.runIf(process.platform === 'linux')("each child's environment", () => {
  it('holds its own path secrets and no other path secret, nor unrelated tokens', async () => {
    const target = await startBannerServer('SSH-2.0-env-check\r\n');
    const jump = await startSshd();
    const edgePort = await freePort();
    const tunnelSecret = 'cf-tunnel-secret-0123456789abcdef';
    const secrets = {
      CF_ID: 'cf-id-0123456789.access',
      CF_SECRET: 'cf-access-secret-0123456789',
      CF_TUNNEL_TOKEN: makeTunnelToken({ s: tunnelSecret }),
      NGROK_AUTHTOKEN: fakeNgrokAuthtoken(),
      GITHUB_TOKEN: 'ghp_unrelated0123456789abcdefghijklmnop',
    };
    const env: NodeJS.ProcessEnv = {
      ...fakeEnv(),
      ...cloudflaredFakeEnv({
        routes: { 'ssh.example.com': target },
        serviceToken: { id: secrets.CF_ID, secret: secrets.CF_SECRET },
        ingress: target,
        edgePort,
        tunnelSecret,
      }),
      ...fakeNgrokAccounts([secrets.NGROK_AUTHTOKEN]),
      ...secrets,
    };
    const manager = createManager({
      target,
      protocol: 'ssh',
      env,
      providers: [cloudflare, ngrok, ssh],
      failover: { interval: 1000, timeout: 3000, maxLatency: 3000, backoffInitial: 60_000 },
      metricsInterval: 0,
    });
    // Which secret values each path may hand its own child.
    const own: Record<string, string[]> = {
      'cf-access': [secrets.CF_ID, secrets.CF_SECRET],
      'cf-expose': [secrets.CF_TUNNEL_TOKEN],
      'ngrok-expose': [secrets.NGROK_AUTHTOKEN],
      ssh: [],
    };
    try {
      const results = await manager.startMultiple([
        {
          id: 'cf-access',
          provider: 'cloudflare',
          options: {
            hostname: 'ssh.example.com',
            serviceTokenIdEnv: 'CF_ID',
            serviceTokenSecretEnv: 'CF_SECRET',
          },
        },
        {
          id: 'cf-expose',
          provider: 'cloudflare',
          mode: 'expose',
          options: { tunnelTokenEnv: 'CF_TUNNEL_TOKEN', publicAddress: `127.0.0.1:${edgePort}` },
        },
        { id: 'ngrok-expose', provider: 'ngrok', mode: 'expose', options: {} },
        { id: 'ssh', provider: 'ssh', options: jumpPathOptions(jump) },
      ]);
      expect(results.map((r) => [r.id, r.ok, r.ok ? '' : r.error.message])).toEqual(
        Object.keys(own).map((id) => [id, true, '']),
      );
      for (const [id, mine] of Object.entries(own)) {
        const pid = manager.status(id).pid;
        expect(pid, `${id} has a process`).toBeGreaterThan(0);
        const environ = await environOf(pid!);
        const values = [...environ.values()];
        for (const [name, value] of Object.entries(secrets)) {
          const expected = mine.includes(value);
          expect(values.includes(value), `${id}'s child ${expected ? 'lacks' : 'sees'} ${name}`).toBe(
            expected,
          );
        }
        expect(environ.has('GITHUB_TOKEN'), `${id}'s child sees GITHUB_TOKEN by name`).toBe(false);
        expect(environ.get('PATH'), `${id}'s child keeps PATH`).toBe(env.PATH);
      }
    } finally {
      await manager.shutdown();
      await jump.close();
      await target.close();
    }
  }, 60_000);
});
