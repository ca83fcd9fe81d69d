import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { type BannerServer, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEMI_SPACE_MB } from '../util/daemon-heap';
import { FORCE_AFTER_MS } from '../util/stop-signals';
import { cli, eventually, localConfig, type Running, startUp, testdir } from './harness';

type Status = {
  primary?: string;
  autoFailover: boolean;
  paths: {
    id: string;
    provider: string;
    state: string;
    priority: number;
    primary: boolean;
    pid?: number;
    endpoint?: string;
    latencyMs?: number;
    consecutiveFailures: number;
    bytesIn: number;
    bytesOut: number;
  }[];
};

describe('tunnelmux up and the commands that query it', () => {
  let target: BannerServer;
  let work: ReturnType<typeof testdir>;
  let up: Running;
  const run = (...args: string[]) => cli(args, { cwd: work.dir, env: work.env });
  const status = async () => JSON.parse((await run('status', '--json')).stdout) as Status;

  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-cli-e2e\r\n');
    work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a', 'b']) });
    up = await startUp(work.dir, work.env, ['--metrics-listen', '127.0.0.1:0']);
  });

  afterAll(async () => {
    up?.process.kill('SIGTERM');
    await up?.process;
    await target?.close();
    work?.cleanup();
  });

  it('reports every path with the fields scripts rely on', async () => {
    expect(
      await eventually(async () => (await status()).paths.every((p) => p.state === 'connected'), 20_000),
    ).toBe(true);
    const result = await status();
    expect(result.primary).toBe('a');
    expect(result.paths.map((p) => p.id)).toEqual(['a', 'b']);
    for (const path of result.paths) {
      expect(path).toMatchObject({ provider: 'local', state: 'connected', consecutiveFailures: 0 });
      expect(path.primary).toBe(path.id === 'a');
      expect(typeof path.priority).toBe('number');
      expect(path.pid).toBeGreaterThan(0);
      expect(path.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(typeof path.bytesIn).toBe('number');
      expect(typeof path.bytesOut).toBe('number');
    }
    expect(
      await eventually(async () => (await status()).paths.every((p) => typeof p.latencyMs === 'number')),
    ).toBe(true);
    const human = await run('status');
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/▶\s+a\s+local\s+connected/);
  });

  it('runs as the same pid with a capped young generation, so its RSS does not ratchet up over hours', async () => {
    const argv = readFileSync(`/proc/${up.ready.pid}/cmdline`, 'utf8').split('\0');
    expect(up.process.pid).toBe(up.ready.pid);
    expect(argv).toContain(`--max-semi-space-size=${SEMI_SPACE_MB}`);
    expect(argv).toContain('up');
  });

  it('carries a client through the front door to the target', async () => {
    const [host, port] = [up.ready.listen!.replace(/:\d+$/, ''), Number(up.ready.listen!.split(':').pop())];
    const banner = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setTimeout(10_000, () => reject(new Error('no banner through the front door')));
      socket.once('data', (data) => {
        resolve(data.toString());
        socket.destroy();
      });
      socket.once('error', reject);
    });
    expect(banner).toContain('SSH-2.0-cli-e2e');
  });

  it('pins a primary, streams the change as an event, and clears the pin', async () => {
    const follow = cli(['events', '--follow', '--json', '--type', 'primary-change', '--limit', '1'], {
      cwd: work.dir,
      env: work.env,
      timeout: 30_000,
    });
    let streamed = '';
    follow.stdout?.on('data', (chunk: Buffer) => {
      streamed += chunk.toString();
    });
    // The server replays the latest match once it has subscribed: after that line, no change can be missed.
    expect(await eventually(() => /"to":"a"/.test(streamed), 10_000)).toBe(true);
    const pinned = await run('primary', 'b', '--json');
    expect(pinned.exitCode).toBe(0);
    expect(JSON.parse(pinned.stdout).primary).toBe('b');
    expect((await status()).paths.find((p) => p.id === 'b')?.primary).toBe(true);
    expect(await eventually(() => /"to":"b"/.test(streamed))).toBe(true);
    const line = streamed.split('\n').find((l) => l.includes('"to":"b"'))!;
    expect(JSON.parse(line)).toMatchObject({ type: 'primary-change', from: 'a', to: 'b', reason: 'manual' });
    follow.kill('SIGINT');
    expect((await follow).exitCode).toBe(0);

    const cleared = await run('primary', '--clear', '--json');
    expect(JSON.parse(cleared.stdout).primary).toBe('a');
    const recent = await run('events', '--json', '--type', 'primary-change');
    const kinds = recent.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Paths open in parallel, so the initial primary may be either; the last two changes are ours.
    expect(kinds.slice(-2).map((e) => `${e.from}>${e.to} ${e.reason}`)).toEqual([
      'a>b manual',
      'b>a pin-cleared',
    ]);
  });

  it('refuses an unknown path and an unknown event type with their own exit codes', async () => {
    const unknown = await run('primary', 'nope');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('no path "nope"; known paths: a, b');
    const badType = await run('events', '--type', 'nonsense');
    expect(badType.exitCode).toBe(2);
    expect(badType.stderr).toContain('unknown event type "nonsense"');
  });

  it('serves metrics as Prometheus text that parses', async () => {
    const result = await run('metrics', '--format', 'prometheus');
    expect(result.exitCode).toBe(0);
    const samples = new Map<string, number>();
    for (const line of result.stdout.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.eE+-]+|NaN|[+-]Inf)$/.exec(line);
      expect(match, `unparsable line: ${line}`).not.toBeNull();
      samples.set(match![1]!, Number(match![2]));
    }
    expect(samples.size).toBeGreaterThan(5);
    expect(
      [...samples.keys()].some(
        (key) => key.includes('path="a"') || key.includes('path_id="a"') || key.includes('"a"'),
      ),
    ).toBe(true);
    // The same figures over HTTP for Prometheus to scrape.
    const url = (up.ready as { metrics?: string }).metrics!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const scraped = await fetch(url);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toContain('text/plain');
    expect(await scraped.text()).toMatch(/^tunnelmux_\w+\{[^}]*="a"[^}]*\} /m);
    const json = JSON.parse((await run('metrics', '--json')).stdout);
    expect(json.paths.map((p: { id: string }) => p.id)).toEqual(['a', 'b']);
  });

  it('stops, restarts and turns failover off and on', async () => {
    expect(JSON.parse((await run('failover', 'off', '--json')).stdout).autoFailover).toBe(false);
    expect(JSON.parse((await run('failover', 'on', '--json')).stdout).autoFailover).toBe(true);
    expect((await run('failover', 'maybe')).exitCode).toBe(2);
    const stopped = JSON.parse((await run('stop', 'b', '--json')).stdout);
    expect(stopped.state).toBe('disconnected');
    const restarted = JSON.parse((await run('restart', 'b', '--json')).stdout);
    expect(['connected', 'connecting', 'reconnecting']).toContain(restarted.state);
    expect(
      await eventually(async () => (await status()).paths.every((p) => p.state === 'connected'), 20_000),
    ).toBe(true);
  });
});

describe('a provider that cannot be loaded', () => {
  it('is reported with where the CLI looked and how to install it, while the other paths run', async () => {
    const target = await startBannerServer();
    const work = testdir({
      'tunnelmux.yaml': `${localConfig(target, ['a'])}\n  - { id: cf, provider: cloudflare, priority: 2 }\n`,
    });
    try {
      const up = await startUp(work.dir, work.env);
      const problem = up.lines.find((line) => line.type === 'cli' && line.level === 'error');
      expect(String(problem?.message)).toContain(
        '[tunnelmux] provider "cloudflare": provider "cloudflare" is not installed',
      );
      expect(String(problem?.message)).toMatch(/looked in: .*node_modules/);
      expect(String(problem?.message)).toContain('install: npm install @tunnelmux/provider-cloudflare');
      expect(up.ready.paths.map((p) => p.id)).toEqual(['a']);
      up.process.kill('SIGTERM');
      expect((await up.process).exitCode).toBe(0);
    } finally {
      await target.close();
      work.cleanup();
    }
  });
});

/** Whether every pid ends within 10 s, as tunnelmux's reaper ends them; any still alive then are killed. */
async function reaped(pids: number[]): Promise<boolean> {
  const allGone = await eventually(
    async () => {
      for (const pid of pids) if (await isAlive(pid)) return false;
      return true;
    },
    // Generous: the reaper needs about a second (SIGTERM, then SIGKILL); this only catches "never".
    10_000,
    50,
  );
  if (!allGone) for (const pid of pids) if (await isAlive(pid)) process.kill(pid, 'SIGKILL');
  return allGone;
}

describe('stopping tunnelmux up', () => {
  it('Ctrl-C stops every path, removes the socket and exits 0 with no child left', async () => {
    const target = await startBannerServer();
    const work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a', 'b']) });
    try {
      const up = await startUp(work.dir, work.env);
      const pids = up.ready.paths.map((p) => p.pid).filter((pid): pid is number => pid !== undefined);
      expect(pids.length).toBe(2);
      up.process.kill('SIGINT');
      const result = await up.process;
      expect(result.exitCode).toBe(0);
      for (const pid of pids) expect(await isAlive(pid)).toBe(false);
      const gone = await cli(['status'], { cwd: work.dir, env: work.env });
      expect(gone.exitCode).toBe(1);
      expect(gone.stderr).toContain('no tunnelmux is running');
      expect(up.lines.at(-1)).toMatchObject({ type: 'stopped', code: 0 });
    } finally {
      await target.close();
      work.cleanup();
    }
  });

  it('Ctrl-C again, a second or more after the first, exits at once while the stop still drains a connection', async () => {
    const target = await startBannerServer();
    const work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a']) });
    const sockets: net.Socket[] = [];
    const connect = (port: number) =>
      new Promise<net.Socket | undefined>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        sockets.push(socket);
        socket.once('data', () => resolve(socket));
        socket.once('error', () => resolve(undefined));
      });
    try {
      const up = await startUp(work.dir, work.env);
      let stderr = '';
      up.process.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const pids = up.ready.paths.map((p) => p.pid).filter((pid): pid is number => pid !== undefined);
      const port = Number(up.ready.listen?.split(':').at(-1));
      // A live connection: the stop lets it drain for up to 5 s before cutting it.
      expect(await connect(port)).toBeDefined();
      up.process.kill('SIGINT');
      // A stop closes the front door first thing: once it refuses, the first Ctrl-C has been taken.
      expect(await eventually(async () => (await connect(port)) === undefined, 5000, 20)).toBe(true);
      // The protocol's own pause, not a wait for readiness: one Ctrl-C under `npm run` arrives twice at once.
      await new Promise((resolve) => setTimeout(resolve, FORCE_AFTER_MS + 100));
      up.process.kill('SIGINT');
      const result = await up.process;
      expect(result.exitCode, stderr).toBe(130);
      expect(stderr).toContain(
        "[tunnelmux] Ctrl-C again: exiting now without finishing the stop; tunnelmux's reaper ends the tool processes still running",
      );
      expect(up.lines.at(-1)).toMatchObject({ type: 'stopped', code: 130, forced: true });
      expect(existsSync(up.ready.socket)).toBe(false);
      expect(await reaped(pids), `tunnel pids ${pids.join(', ')} still alive after the forced exit`).toBe(
        true,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await target.close();
      work.cleanup();
    }
  });

  it('SIGKILL of up leaves no tunnel process alive (the reaper ends them)', async () => {
    const target = await startBannerServer();
    const work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a', 'b']) });
    try {
      const up = await startUp(work.dir, work.env);
      const pids = up.ready.paths.map((p) => p.pid).filter((pid): pid is number => pid !== undefined);
      expect(pids.length).toBe(2);
      for (const pid of pids) expect(await isAlive(pid)).toBe(true);
      up.process.kill('SIGKILL');
      await up.process;
      const killedAt = Date.now();
      const allGone = await reaped(pids);
      expect(
        allGone,
        `tunnel pids ${pids.join(', ')} still alive ${Date.now() - killedAt} ms after SIGKILL`,
      ).toBe(true);
    } finally {
      await target.close();
      work.cleanup();
    }
  });
});
