import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli, localConfig, type Running, startUp, testdir } from './harness';

describe('tunnelmux up --dashboard and tunnelmux dashboard', () => {
  let target: BannerServer;
  let work: ReturnType<typeof testdir>;
  let up: Running | undefined;

  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-cli-e2e\r\n');
  });
  afterEach(async () => {
    up?.process.kill('SIGTERM');
    await up?.process;
    up = undefined;
    work?.cleanup();
  });
  afterAll(async () => {
    await target?.close();
  });

  it('serves the dashboard on a free loopback port and tells `tunnelmux dashboard` where', async () => {
    work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a']) });
    up = await startUp(work.dir, work.env, ['--dashboard']);
    const open = (up.ready as unknown as { dashboard?: string }).dashboard;
    expect(open).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);
    const asked = await cli(['dashboard'], { cwd: work.dir, env: work.env });
    expect(asked).toMatchObject({ exitCode: 0, stdout: open });
    const page = await fetch(String(open));
    expect(page.status).toBe(200);
    const refused = await fetch(new URL('/api/v1/status', String(open)));
    expect(refused.status).toBe(401);
    // The token, for scripts: beside the control socket, readable by this user only, gone once `up` stops.
    const file = path.join(String(work.env.XDG_RUNTIME_DIR), 'tunnelmux', 't.dashboard-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(new URL(String(open)).searchParams.get('token'));
    up.process.kill('SIGTERM');
    await up.process;
    expect(existsSync(file)).toBe(false);
  });

  it('says how to start one when the instance serves none', async () => {
    work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a']) });
    up = await startUp(work.dir, work.env);
    expect((up.ready as unknown as { dashboard?: string }).dashboard).toBeUndefined();
    const asked = await cli(['dashboard'], { cwd: work.dir, env: work.env });
    expect(asked.exitCode).toBe(1);
    expect(asked.stderr).toContain(
      'this instance serves no dashboard; start it with `tunnelmux up --dashboard`',
    );
  });

  it('refuses a dashboard beyond loopback without --dashboard-public (exit 2)', async () => {
    work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a']) });
    const result = await cli(['up', '--dashboard', '0.0.0.0:0'], { cwd: work.dir, env: work.env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      '--dashboard 0.0.0.0:0 is not a loopback address; add --dashboard-public',
    );
  });
});
