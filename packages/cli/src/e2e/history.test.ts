import { rmSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type BannerServer, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, eventually, localConfig, ndjson, type Running, startUp, testdir } from './harness';

/** Kill what a SIGKILLed `up` may leave (its reaper ends them; this only cleans up if it did not). */
async function reap(pids: number[]): Promise<void> {
  const gone = await eventually(
    async () => {
      for (const pid of pids) if (await isAlive(pid)) return false;
      return true;
    },
    10_000,
    50,
  );
  if (!gone) for (const pid of pids) if (await isAlive(pid)) process.kill(pid, 'SIGKILL');
}

describe('history across restarts', () => {
  let target: BannerServer;
  let work: ReturnType<typeof testdir>;
  const run = (...args: string[]) => cli(args, { cwd: work.dir, env: work.env });
  const started: Running[] = [];
  const pids: number[] = [];

  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-history-e2e\r\n');
    work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a', 'b']) });
  });

  afterAll(async () => {
    for (const up of started) {
      up.process.kill('SIGKILL');
      await up.process;
    }
    await reap(pids);
    await target?.close();
    work?.cleanup();
  });

  it('says where it looked, and how to get a history, before any run', async () => {
    const missing = await run('report');
    expect(missing.exitCode).toBe(1);
    const file = path.join(work.dir, 'home', 'state', 'history.sqlite');
    expect(missing.stderr).toContain(`no history file at ${file}`);
    expect(missing.stderr).toContain('recorded while `tunnelmux up` runs');
  });

  it('records a failover during one run and shows it after the run has stopped', async () => {
    const up = await startUp(work.dir, work.env);
    started.push(up);
    // The default state folder under $TUNNELMUX_HOME (the harness gives each test its own).
    expect(up.ready).toMatchObject({ history: path.join(work.dir, 'home', 'state', 'history.sqlite') });
    await up.waitFor(
      (line) => line.type === 'state-change' && line.pathId === 'a' && line.to === 'connected',
    );
    await up.waitFor(
      (line) => line.type === 'state-change' && line.pathId === 'b' && line.to === 'connected',
    );
    const a = up.ready.paths.find((p) => p.id === 'a')?.pid;
    expect(a).toBeGreaterThan(0);
    pids.push(...up.ready.paths.flatMap((p) => (p.pid ? [p.pid] : [])));
    // Fault path a: its tunnel process dies, and b takes over.
    process.kill(a as number, 'SIGKILL');
    await up.waitFor((line) => line.type === 'failover' && line.from === 'a');
    // Failback once a is back, so the run holds a whole outage of a.
    await up.waitFor(
      (line) => line.type === 'primary-change' && line.to === 'a' && line.reason === 'failback',
    );
    up.process.kill('SIGTERM');
    expect((await up.process).exitCode).toBe(0);
    started.pop();

    const failovers = await run('history', '--json', '--type', 'failover');
    expect(failovers.exitCode).toBe(0);
    expect(ndjson(failovers.stdout)).toMatchObject([
      { type: 'failover', from: 'a', to: 'b', instance: 't', service: 'default' },
    ]);
    const plain = await run('history', '--path', 'a');
    expect(plain.stdout).toMatch(/failover a → b/);
    expect(plain.stdout).toMatch(/primary b → a \(failback\)/);
    expect(plain.stdout).toMatch(/a connected → disconnected \(stopped\)/);
  });

  it('survives a SIGKILL of up mid-run: the file opens cleanly and the report counts both runs', async () => {
    const up = await startUp(work.dir, work.env);
    started.push(up);
    pids.push(...up.ready.paths.flatMap((p) => (p.pid ? [p.pid] : [])));
    const first = await up.waitFor((line) => line.type === 'primary-change');
    // Wait until this run's first primary change is in the file (the recorder flushes about every second).
    let seen = '';
    const flushed = await eventually(
      async () => {
        seen = (await run('history', '--json', '--type', 'primary-change')).stdout;
        return ndjson(seen).some((line) => line.time === first.time && line.seq === first.seq);
      },
      15_000,
      300,
    );
    expect(flushed, `primary changes in the file: ${seen}`).toBe(true);

    // history --follow: first what is in the file (run one's failover), then a failover of this run as it lands.
    const follow = cli(['history', '--follow', '--json', '--type', 'failover', '--since', '1h'], {
      cwd: work.dir,
      env: work.env,
      timeout: 60_000,
    });
    let streamed = '';
    follow.stdout?.on('data', (chunk: Buffer) => {
      streamed += chunk.toString();
    });
    try {
      expect(await eventually(() => ndjson(streamed).length === 1, 15_000)).toBe(true);
      // a (priority 1) is primary once both are up; its failover is the one to see.
      const primaryIsA = async () => JSON.parse((await run('status', '--json')).stdout).primary === 'a';
      expect(await eventually(primaryIsA, 15_000, 300)).toBe(true);
      const a = up.ready.paths.find((p) => p.id === 'a')?.pid;
      process.kill(a as number, 'SIGKILL');
      expect(await eventually(() => ndjson(streamed).length === 2, 15_000), streamed).toBe(true);
      expect(ndjson(streamed).map((line) => `${line.from}>${line.to}`)).toEqual(['a>b', 'a>b']);
      expect((ndjson(streamed)[1]?.time as number) > (ndjson(streamed)[0]?.time as number)).toBe(true);
    } finally {
      follow.kill('SIGINT');
    }
    expect((await follow).exitCode).toBe(0);

    up.process.kill('SIGKILL');
    await up.process;
    started.pop();

    const file = path.join(work.dir, 'home', 'state', 'history.sqlite');
    const db = new DatabaseSync(file);
    expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    expect(db.prepare('SELECT count(*) AS n, count(stopped) AS stopped FROM runs').get()).toEqual({
      n: 2,
      stopped: 1,
    });
    db.close();

    const report = await run('report', '--json', '--since', '1h');
    expect(report.exitCode).toBe(0);
    const parsed = JSON.parse(report.stdout) as {
      runs: number;
      empty: boolean;
      services: {
        instance: string;
        service: string;
        runs: number;
        failovers: number;
        observedMs: number;
        paths: { path: string; failovers: number; outages: number; primaryMs: number; probes: number }[];
      }[];
    };
    expect(parsed).toMatchObject({ runs: 2, empty: false });
    expect(parsed.services).toHaveLength(1);
    const [svc] = parsed.services;
    expect(svc).toMatchObject({ instance: 't', service: 'default', runs: 2, failovers: 2 });
    expect(svc?.observedMs).toBeGreaterThan(0);
    const a = svc?.paths.find((p) => p.path === 'a');
    expect(a).toMatchObject({ failovers: 2, outages: 2 });
    expect(a?.primaryMs).toBeGreaterThan(0);
    expect(a?.probes).toBeGreaterThan(0);

    const plain = await run('report', '--since', '1h');
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toMatch(/t · default: [\d.]+% available .*\(2 runs\).* 2 failovers/);
    expect(plain.stdout).toMatch(/^\s+a\s+[\d.]+%/m);
    // A day the runs touched has a block; near midnight the hour spans two days and one of them is '·'.
    expect(plain.stdout).toMatch(/days \d\d-\d\d [·█▇▆▅▄▃▂▁]*[█▇▆▅▄▃▂▁][·█▇▆▅▄▃▂▁]* \d\d-\d\d$/m);

    const before = await run('report', '--since', '2020-01-01', '--until', '2020-01-08');
    expect(before.exitCode).toBe(0);
    expect(before.stdout).toMatch(
      /^no history in 2020-01-01 00:00:00Z → 2020-01-08 00:00:00Z: .* holds 2 run\(s\)/,
    );
  });

  it('says so when the file was written by an older schema, and migrates it', async () => {
    const { HistoryStore, migrate } = await import('@tunnelmux/history');
    const file = path.join(work.dir, 'old', 'history.sqlite');
    HistoryStore.open(file).close();
    rmSync(file);
    for (const suffix of ['-wal', '-shm']) rmSync(file + suffix, { force: true });
    const db = new DatabaseSync(file);
    migrate(db, 1);
    db.prepare(
      "INSERT INTO events (time, instance, service, type, path, event) VALUES (?, 'old', 'default', 'failover', 'a', ?)",
    ).run(Date.now() - 60_000, JSON.stringify({ type: 'failover', from: 'a', to: 'b', reason: 'down' }));
    db.close();
    const report = await run('report', '--state', file);
    expect(report.exitCode).toBe(0);
    expect(report.stdout).toContain(
      `note: ${file} was written with history schema v1; it has been migrated to v2`,
    );
    expect(report.stdout).toContain(
      '1 row(s) from before schema v2 carry no run, so this report leaves them out',
    );
    expect(report.stdout).toMatch(/no history in .*: it holds no run of tunnelmux up yet/);
    // The old event is still listed.
    expect(ndjson((await run('history', '--state', file, '--json')).stdout)).toMatchObject([
      { type: 'failover', from: 'a', instance: 'old' },
    ]);
    // Opened once more, there is nothing left to migrate.
    expect((await run('report', '--state', file)).stdout).not.toContain('migrated');
  });

  it('refuses a bad --since with a usage error that names it', async () => {
    const bad = await run('history', '--since', 'yesterday');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--since must be a duration back from now such as 24h');
    expect(bad.stderr).toContain('got "yesterday"');
  });
});
