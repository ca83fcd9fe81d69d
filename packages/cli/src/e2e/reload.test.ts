import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from '@tunnelmux/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, type Running, startEchoServer, startUp, testdir } from './harness';
import {
  echoOnce,
  freePort,
  servicesConfig,
  servicesStatus,
  startEchoStream,
  type TestService,
} from './services-harness';

type Echo = Awaited<ReturnType<typeof startEchoServer>>;

interface Report {
  added: string[];
  removed: string[];
  changed: string[];
  failed: { item: string; reason: string }[];
}

describe('reload: apply only what changed, drop no session', () => {
  let echo: Echo | undefined;
  let work: ReturnType<typeof testdir> | undefined;
  let up: Running | undefined;

  afterEach(async () => {
    up?.process.kill('SIGTERM');
    await up?.process;
    await echo?.close();
    work?.cleanup();
    up = undefined;
    echo = undefined;
    work = undefined;
  });

  async function start(services: Record<string, TestService>, drain?: string, args: string[] = []) {
    echo = await startEchoServer();
    work = testdir({ 'tunnelmux.yaml': servicesConfig(echo.port, services, drain) });
    up = await startUp(work.dir, work.env, args);
    const current = work;
    await expect
      .poll(
        async () =>
          (await servicesStatus(current)).services.every((s) =>
            s.paths.every((p) => p.state === 'connected'),
          ),
        { timeout: 30_000, interval: 200 },
      )
      .toBe(true);
    return current;
  }

  const write = (services: Record<string, TestService>, drain?: string) =>
    writeFileSync(path.join(work!.dir, 'tunnelmux.yaml'), servicesConfig(echo!.port, services, drain));

  async function reload(): Promise<Report> {
    const result = await cli(['reload', '--json'], { cwd: work!.dir, env: work!.env, timeout: 60_000 });
    expect(result.exitCode, result.stderr || result.stdout).toBe(0);
    return JSON.parse(result.stdout) as Report;
  }

  const listenOf = async (name: string) => {
    const service = (await servicesStatus(work!)).services.find((s) => s.name === name);
    if (!service?.listen) throw new Error(`service ${name} has no front door`);
    return service.listen;
  };

  it('carries a long echo stream through service A across three reloads, byte for byte', async () => {
    await start({ a: { paths: ['a1', 'a2'] }, c: { paths: ['c1'] } });
    const a1 = (await servicesStatus(work!)).services[0]?.paths.find((p) => p.id === 'a1');
    const stream = await startEchoStream(await listenOf('a'));
    const progressed = (bytes: number) =>
      expect.poll(() => stream.gotBytes, { timeout: 20_000 }).toBeGreaterThan(bytes);
    await progressed(64 * 1024);

    // 1. Add a path to A.
    write({ a: { paths: ['a1', 'a2', 'a3'] }, c: { paths: ['c1'] } });
    expect(await reload()).toEqual({
      file: expect.any(String),
      added: ['a/a3'],
      removed: [],
      changed: [],
      failed: [],
    });
    await progressed(stream.gotBytes);

    // 2. Remove a different path of A (not the one carrying the stream) and tune A's fall.
    const a2 = (await servicesStatus(work!)).services[0]?.paths.find((p) => p.id === 'a2')?.pid;
    // a3 keeps its priority, so only a2 goes.
    const a = { paths: ['a1', 'a2', 'a3'], without: ['a2'], failover: { fall: 4 } };
    write({ a, c: { paths: ['c1'] } });
    expect(await reload()).toEqual({
      file: expect.any(String),
      added: [],
      removed: ['a/a2'],
      changed: ['a:failover'],
      failed: [],
    });
    await expect.poll(() => (a2 ? isAlive(a2) : false), { timeout: 20_000 }).toBe(false);
    await progressed(stream.gotBytes);

    // 3. Add service B and remove service C; B serves clients as soon as the reload has answered.
    const c1 = (await servicesStatus(work!)).services.find((s) => s.name === 'c')?.paths[0]?.pid;
    write({ a, b: { paths: ['b1'] } });
    expect(await reload()).toEqual({
      file: expect.any(String),
      added: ['b'],
      removed: ['c'],
      changed: [],
      failed: [],
    });
    expect(await echoOnce(await listenOf('b'))).toBe(true);
    await expect.poll(() => (c1 ? isAlive(c1) : false), { timeout: 20_000 }).toBe(false);
    await progressed(stream.gotBytes);

    const result = await stream.finish();
    expect(result.error).toBeUndefined();
    expect(result.sentBytes).toBeGreaterThan(128 * 1024);
    expect(result.gotBytes).toBe(result.sentBytes);
    expect(result.got).toBe(result.sent);
    const status = await servicesStatus(work!);
    expect(status.services.map((s) => [s.name, s.paths.map((p) => p.id)])).toEqual([
      ['a', ['a1', 'a3']],
      ['b', ['b1']],
    ]);
    // The path carrying the stream never changed: the same process, primary throughout.
    expect(status.services[0]?.paths[0]).toMatchObject({ id: 'a1', pid: a1?.pid, state: 'connected' });
    expect(status.services[0]?.primary).toBe('a1');
    // The reloads are on the event stream too.
    const events = await cli(['events', '--json', '--type', 'config-reloaded'], {
      cwd: work!.dir,
      env: work!.env,
    });
    expect(
      events.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).added),
    ).toEqual([['a/a3'], [], ['b']]);
  });

  it('removes the primary under load with no failed connection, and its process is gone after the drain', async () => {
    await start({ web: { paths: ['p1', 'p2'] } }, '2s');
    const listen = await listenOf('web');
    const p1 = (await servicesStatus(work!)).services[0]?.paths.find((p) => p.id === 'p1')?.pid;
    expect(p1).toBeGreaterThan(0);
    let done = 0;
    let failed = 0;
    let reloaded: Promise<Report> | undefined;
    // 100 clients, 5 at a time; the reload lands while they are connecting.
    const worker = async () => {
      while (done + failed < 100) {
        const ok = await echoOnce(listen);
        if (ok) done++;
        else failed++;
        if (done + failed === 30 && !reloaded) {
          write({ web: { paths: ['p1', 'p2'], without: ['p1'] } }, '2s');
          reloaded = reload();
        }
      }
    };
    await Promise.all(Array.from({ length: 5 }, worker));
    expect(await reloaded).toMatchObject({ removed: ['web/p1'], failed: [] });
    expect(failed).toBe(0);
    expect(done).toBeGreaterThanOrEqual(100);
    await expect.poll(() => (p1 ? isAlive(p1) : true), { timeout: 20_000 }).toBe(false);
    const status = await servicesStatus(work!);
    expect(status.services[0]?.paths.map((p) => p.id)).toEqual(['p2']);
    expect(status.services[0]?.primary).toBe('p2');
  });

  it('replaces a changed path new-before-old, with no failed connection', async () => {
    await start({ web: { paths: ['p1', 'p2'] } }, '2s');
    const listen = await listenOf('web');
    const old = (await servicesStatus(work!)).services[0]?.paths.find((p) => p.id === 'p1')?.pid;
    let done = 0;
    let failed = 0;
    let reloaded: Promise<Report> | undefined;
    const worker = async () => {
      while (done + failed < 60) {
        if (await echoOnce(listen)) done++;
        else failed++;
        if (done + failed === 20 && !reloaded) {
          write({ web: { paths: ['p1', 'p2'], extra: { p1: 'options: { readyTimeoutMs: 9000 }' } } }, '2s');
          reloaded = reload();
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    expect(await reloaded).toMatchObject({ added: [], removed: [], changed: ['web/p1'], failed: [] });
    expect(failed).toBe(0);
    // The new p1 is a new process; the old one is gone once drained.
    const p1 = (await servicesStatus(work!)).services[0]?.paths.find((p) => p.id === 'p1');
    expect(p1?.pid).not.toBe(old);
    await expect.poll(() => (old ? isAlive(old) : true), { timeout: 20_000 }).toBe(false);
  });

  it('moves a front door: the new address is bound before the old one stops accepting, live streams carry on', async () => {
    const [first, second] = [await freePort(), await freePort()];
    await start({ a: { paths: ['a1'], listen: `127.0.0.1:${first}` } }, '20s');
    const stream = await startEchoStream(`127.0.0.1:${first}`);
    await expect.poll(() => stream.gotBytes, { timeout: 20_000 }).toBeGreaterThan(16 * 1024);
    write({ a: { paths: ['a1'], listen: `127.0.0.1:${second}` } }, '20s');
    expect(await reload()).toMatchObject({ changed: ['a:listen'], failed: [] });
    expect(await echoOnce(`127.0.0.1:${second}`)).toBe(true);
    // The old address takes no new client, while the stream opened there carries on.
    expect(await echoOnce(`127.0.0.1:${first}`, 2000)).toBe(false);
    const bytes = stream.gotBytes;
    await expect.poll(() => stream.gotBytes, { timeout: 20_000 }).toBeGreaterThan(bytes + 16 * 1024);
    const result = await stream.finish();
    expect(result.error).toBeUndefined();
    expect(result.got).toBe(result.sent);
    expect((await servicesStatus(work!)).services[0]?.listen).toBe(`127.0.0.1:${second}`);
  });

  it('keeps what worked when part of a reload fails, and says why (a provider whose tool is not installed)', async () => {
    await start({ a: { paths: ['a1'] } });
    // provider-cloudflare loads (named as a plugin), but cloudflared is not installed on this machine.
    const cloudflare = path.resolve(import.meta.dirname, '../../../provider-cloudflare/dist/index.js');
    const text = servicesConfig(echo!.port, { a: { paths: ['a1', 'a2'] }, b: { paths: ['b1'] } })
      .replace('plugins: [', `plugins: [${JSON.stringify(cloudflare)}, `)
      .replace(
        '      - { id: a2, provider: local, priority: 2 }',
        '      - { id: a2, provider: local, priority: 2 }\n      - { id: cf, provider: cloudflare, priority: 3, options: { hostname: ssh.example.com } }',
      );
    writeFileSync(path.join(work!.dir, 'tunnelmux.yaml'), text);
    const result = await cli(['reload', '--json'], { cwd: work!.dir, env: work!.env, timeout: 60_000 });
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report).toMatchObject({ added: ['b', 'a/a2', 'a/cf'], removed: [], changed: [] });
    expect(report.failed).toEqual([{ item: 'a/cf', reason: expect.stringMatching(/cloudflared/) }]);
    // What worked is running and serving.
    const status = await servicesStatus(work!);
    expect(status.services.map((s) => s.name)).toEqual(['a', 'b']);
    expect(status.services[0]?.paths.find((p) => p.id === 'a2')?.state).toBe('connected');
    expect(await echoOnce(await listenOf('b'))).toBe(true);
  });

  it('moves from the single-service form to services: keeping the front door address', async () => {
    const port = await freePort();
    echo = await startEchoServer();
    const single = servicesConfig(echo.port, { a: { paths: ['a1'] } })
      .replace(/services:\n {2}a:\n/, '')
      .replace(/^ {4}/gm, '')
      .replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${port}`);
    work = testdir({ 'tunnelmux.yaml': single });
    up = await startUp(work.dir, work.env);
    expect(up.ready.listen).toBe(`127.0.0.1:${port}`);
    // The single-service form: today's top-level fields for scripts, and the same service in `services`.
    await expect.poll(async () => (await servicesStatus(work!)).primary, { timeout: 20_000 }).toBe('a1');
    const before = await servicesStatus(work);
    expect(before.paths?.map((p) => p.id)).toEqual(['a1']);
    expect(before.services).toEqual([
      expect.objectContaining({
        name: 'default',
        listen: `127.0.0.1:${port}`,
        primary: 'a1',
        paths: before.paths,
      }),
    ]);
    write({ ssh: { paths: ['a1'], listen: `127.0.0.1:${port}` }, db: { paths: ['d1'] } });
    expect(await reload()).toMatchObject({
      added: ['ssh', 'db'],
      removed: ['default'],
      changed: [],
      failed: [],
    });
    expect(await echoOnce(`127.0.0.1:${port}`)).toBe(true);
    expect((await servicesStatus(work)).services.map((s) => [s.name, s.listen])).toEqual([
      ['ssh', `127.0.0.1:${port}`],
      ['db', expect.stringMatching(/^127\.0\.0\.1:\d+$/)],
    ]);
  });

  it('refuses an invalid reload, naming file, line and field, and changes nothing', async () => {
    await start({ a: { paths: ['a1', 'a2'] } });
    const before = await servicesStatus(work!);
    const good = servicesConfig(echo!.port, { a: { paths: ['a1', 'a2'] } });
    const bad = {
      syntax: good.replace('    paths:', '    paths: [}'),
      'unknown provider': good.replace('{ id: a2, provider: local', '{ id: a2, provider: nosuch'),
      'duplicate path id': good.replace('{ id: a2,', '{ id: a1,'),
    };
    const expected = {
      syntax: /tunnelmux\.yaml:\d+:\d+: is not valid YAML/,
      'unknown provider':
        /tunnelmux\.yaml:12:\d+: services\.a\.paths\.1\.provider names provider "nosuch", which cannot be loaded/,
      'duplicate path id':
        /tunnelmux\.yaml:12:\d+: services\.a\.paths\.1\.id must be unique within the service, got "a1"/,
    };
    for (const [kind, text] of Object.entries(bad)) {
      writeFileSync(path.join(work!.dir, 'tunnelmux.yaml'), text);
      const result = await cli(['reload'], { cwd: work!.dir, env: work!.env, timeout: 60_000 });
      expect(result.exitCode, kind).toBe(2);
      expect(result.stderr, kind).toMatch(expected[kind as keyof typeof expected]);
    }
    const after = await servicesStatus(work!);
    expect(
      after.services.map((s) => [s.name, s.listen, s.primary, s.paths.map((p) => [p.id, p.pid])]),
    ).toEqual(before.services.map((s) => [s.name, s.listen, s.primary, s.paths.map((p) => [p.id, p.pid])]));
    expect(up!.lines.filter((line) => line.type === 'config-reloaded')).toEqual([]);
  });

  it('reloads on SIGHUP and keeps running', async () => {
    await start({ a: { paths: ['a1'] } });
    write({ a: { paths: ['a1', 'a2'] } });
    up!.process.kill('SIGHUP');
    const event = await up!.waitFor((line) => line.type === 'config-reloaded');
    expect(event).toMatchObject({ added: ['a/a2'], removed: [], changed: [] });
    await expect
      .poll(async () => (await servicesStatus(work!)).services[0]?.paths.map((p) => p.id), {
        timeout: 20_000,
      })
      .toEqual(['a1', 'a2']);
  });

  it('with --watch, a burst of 20 writes gives one reload', async () => {
    await start({ a: { paths: ['a1'] } }, undefined, ['--watch']);
    for (let i = 0; i < 20; i++) write({ a: { paths: i === 19 ? ['a1', 'a2'] : ['a1'] } });
    const event = await up!.waitFor((line) => line.type === 'config-reloaded');
    expect(event).toMatchObject({ added: ['a/a2'] });
    // A later, separate save is one more reload: the watch outlives the first.
    write({ a: { paths: ['a1'] } });
    await up!.waitFor((line) => line.type === 'config-reloaded' && (line.removed as string[]).length === 1);
    expect(up!.lines.filter((line) => line.type === 'config-reloaded')).toHaveLength(2);
  });
});

describe('two services at once under faults', () => {
  it('killing a path of one service never touches the other', async () => {
    const echo = await startEchoServer();
    const work = testdir({
      'tunnelmux.yaml': servicesConfig(echo.port, { x: { paths: ['x1', 'x2'] }, y: { paths: ['y1', 'y2'] } }),
    });
    let up: Running | undefined;
    try {
      up = await startUp(work.dir, work.env, ['--metrics-listen', '127.0.0.1:0']);
      await expect
        .poll(
          async () =>
            (await servicesStatus(work)).services.every((s) => s.paths.every((p) => p.state === 'connected')),
          { timeout: 30_000, interval: 200 },
        )
        .toBe(true);
      const before = await servicesStatus(work);
      const y = before.services.find((s) => s.name === 'y')!;
      const x1 = before.services.find((s) => s.name === 'x')!.paths.find((p) => p.id === 'x1')!.pid!;
      const stream = await startEchoStream(y.listen!);
      await expect.poll(() => stream.gotBytes, { timeout: 20_000 }).toBeGreaterThan(16 * 1024);

      process.kill(x1, 'SIGKILL');
      // x fails over to x2 (and may fail back to x1 once it is up again: autoRecover is on).
      const failover = await up.waitFor((line) => line.type === 'failover' && line.service === 'x');
      expect(failover).toMatchObject({ from: 'x1', to: 'x2' });
      const after = await servicesStatus(work);
      // y: same primary, same processes, every path still connected, and no event of y says otherwise.
      expect(after.services.find((s) => s.name === 'y')).toMatchObject({
        primary: y.primary,
        paths: y.paths.map((p) => expect.objectContaining({ id: p.id, pid: p.pid, state: 'connected' })),
      });
      expect(
        up.lines.filter(
          (line) =>
            line.service === 'y' &&
            ['failover', 'disconnected', 'reconnecting', 'dial-failed'].includes(String(line.type)),
        ),
      ).toEqual([]);
      const result = await stream.finish();
      expect(result.error).toBeUndefined();
      expect(result.got).toBe(result.sent);

      // One metrics endpoint: each series says its service.
      const metrics = await cli(['metrics', '--format', 'prometheus'], { cwd: work.dir, env: work.env });
      expect(metrics.stdout).toMatch(/tunnelmux_path_up\{service="x",path="x2"/);
      expect(metrics.stdout).toMatch(/tunnelmux_path_up\{service="y",path="y1"/);
      // Human output names the service of each path.
      const list = await cli(['list'], { cwd: work.dir, env: work.env });
      expect(list.stdout).toMatch(/^x\/x2\tlocal\t/m);
      expect(list.stdout).toMatch(/^y\/y1\tlocal\tconnected\tprimary$/m);
      const human = await cli(['status'], { cwd: work.dir, env: work.env });
      expect(human.stdout).toMatch(/^x {2}127\.0\.0\.1:\d+$/m);
      expect(human.stdout).toMatch(/^y {2}127\.0\.0\.1:\d+$/m);
      // A path command must name the service when there are several.
      const ambiguous = await cli(['restart', 'x2'], { cwd: work.dir, env: work.env });
      expect(ambiguous.exitCode).toBe(2);
      expect(ambiguous.stderr).toMatch(
        /runs 2 services \(x, y\); name one: tunnelmux restart --service <name>/,
      );
      const pinned = await cli(['primary', 'y2', '--service', 'y', '--json'], {
        cwd: work.dir,
        env: work.env,
      });
      expect(pinned.exitCode, pinned.stderr).toBe(0);
      expect(JSON.parse(pinned.stdout)).toMatchObject({ name: 'y', primary: 'y2' });
    } finally {
      up?.process.kill('SIGTERM');
      await up?.process;
      await echo.close();
      work.cleanup();
    }
  });
});
