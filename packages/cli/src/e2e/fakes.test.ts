import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import {
  defaultTailscaleState,
  FAKE_PASS_ENV,
  fakeEnv,
  TAILSCALE_STATE_ENV,
  writeTailscaleState,
} from '@tunnelmux/testkit/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, eventually, LOCAL_PLUGIN, startUp, testdir } from './harness';

// A real provider package, named by its folder in `plugins:` as a user with a local checkout would.
const TAILSCALE_PACKAGE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../provider-tailscale',
);

describe('a real provider over its fake tool, through the binary', () => {
  let target: BannerServer;
  let work: ReturnType<typeof testdir>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-over-fake-tailscale\r\n');
    work = testdir({
      'tunnelmux.yaml': [
        'listen: 127.0.0.1:0',
        'target: devbox:22',
        'protocol: ssh',
        `plugins: [${JSON.stringify(TAILSCALE_PACKAGE)}, ${JSON.stringify(LOCAL_PLUGIN)}]`,
        // Each tailscale dial starts a `tailscale nc` process: generous limits keep a loaded machine from failing it.
        'failover: { interval: 1s, timeout: 5s, maxLatency: 5s, fall: 3, rise: 2 }',
        'paths:',
        // dial: nc keeps every byte on loopback (a direct dial would go to the fake peer's tailnet IP).
        '  - { id: ts, provider: tailscale, priority: 1, options: { host: devbox, dial: nc } }',
        `  - { id: local, provider: local, priority: 2, target: ${target.host}:${target.port} }`,
      ].join('\n'),
    });
    // No TUN device either, so nothing could pick a direct dial.
    const state = defaultTailscaleState({ TUN: false });
    state.Peers[0] = { ...state.Peers[0]!, ports: { '22': target.port } };
    const stateFile = path.join(work.dir, 'tailscale-state.json');
    writeTailscaleState(stateFile, state);
    // The fake tailscale comes first on PATH; the provider cannot tell it from the real one.
    env = { ...work.env, PATH: fakeEnv().PATH, ...FAKE_PASS_ENV, [TAILSCALE_STATE_ENV]: stateFile };
  });

  afterAll(async () => {
    await target?.close();
    work?.cleanup();
  });

  it('doctor finds the provider package and the fake tailscale with its version', async () => {
    const result = await cli(['doctor', '--json'], { cwd: work.dir, env });
    const report = JSON.parse(result.stdout) as { checks: { check: string; ok: boolean; detail: string }[] };
    expect(report.checks.find((c) => c.check === 'provider tailscale')).toMatchObject({
      ok: true,
      detail: expect.stringContaining('@tunnelmux/provider-tailscale@'),
    });
    expect(report.checks.find((c) => c.check === 'tool tailscale')).toMatchObject({
      ok: true,
      detail: expect.stringContaining('1.88.1'),
    });
    expect(result.exitCode).toBe(0);
  });

  it('up opens the tailscale path, makes it primary and reports it in status', async () => {
    const up = await startUp(work.dir, env);
    try {
      const status = async () => JSON.parse((await cli(['status', '--json'], { cwd: work.dir, env })).stdout);
      expect(
        await eventually(
          async () => (await status()).paths.every((p: { state: string }) => p.state === 'connected'),
          20_000,
        ),
      ).toBe(true);
      const result = await status();
      expect(result.primary).toBe('ts');
      expect(result.paths[0]).toMatchObject({
        id: 'ts',
        provider: 'tailscale',
        state: 'connected',
        primary: true,
      });
    } finally {
      up.process.kill('SIGTERM');
      expect((await up.process).exitCode).toBe(0);
    }
  });
});
