import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../hooks/test-support';
import { BIN, cli, localConfig, type Running, startUp, testdir } from './harness';

// Appends what it got (stdin and the TUNNELMUX_* variables) to out.ndjson in the config folder.
const RECORDER = `import fs from 'node:fs';
let input = '';
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TUNNELMUX_')));
  fs.appendFileSync('out.ndjson', JSON.stringify({ input: JSON.parse(input), env }) + '\\n');
});`;

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('on: hooks in a running up', () => {
  let target: BannerServer;
  let work: ReturnType<typeof testdir>;
  let up: Running;
  let port: number;
  const run = (...args: string[]) => cli(args, { cwd: work.dir, env: work.env });

  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-hooks-e2e\r\n');
    port = await closedPort();
    const on = [
      'on:',
      '  connected:',
      `    - { webhook: "http://ops:pw-s3cret@127.0.0.1:${port}/up?token=tok-s3cret", retries: 0 }`,
      '  disconnected:',
      `    - { webhook: "http://127.0.0.1:${port}/down", headers: { Authorization: "Bearer hdr-s3cret" }, retries: 0 }`,
      '  primary-change:',
      `    - { command: [${JSON.stringify(process.execPath)}, record.mjs], rateLimit: 0 }`,
    ].join('\n');
    work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a', 'b'], on), 'record.mjs': RECORDER });
    up = await startUp(work.dir, work.env);
  });

  afterAll(async () => {
    up?.process.kill('SIGTERM');
    await up?.process;
    await target?.close();
    work?.cleanup();
  });

  it('runs a command hook with the event on stdin and TUNNELMUX_* set', async () => {
    const out = path.join(work.dir, 'out.ndjson');
    const calls = () => {
      try {
        return readFileSync(out, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
      } catch {
        return [];
      }
    };
    await expect.poll(() => calls().length, { timeout: 20_000 }).toBeGreaterThan(0);
    const [first] = calls();
    // Both paths open at once: whichever connects first becomes the initial primary.
    expect(first.input).toMatchObject({ type: 'primary-change', reason: 'initial', count: 1 });
    expect(['a', 'b']).toContain(first.input.to);
    expect(first.env).toMatchObject({
      TUNNELMUX_EVENT: 'primary-change',
      TUNNELMUX_SERVICE: 'default',
      TUNNELMUX_PATH: first.input.to,
      TUNNELMUX_INSTANCE: 't',
    });
  });

  it('reports a webhook to a closed port as one hook-failed event, redacted, while paths keep running', async () => {
    const failed = await up.waitFor((line) => line.type === 'hook-failed' && line.on === 'connected');
    expect(failed).toMatchObject({
      hook: `webhook http://***:***@127.0.0.1:${port}/up?token=***`,
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
    // Both paths connected, so the hook ran on two events: one report for the burst.
    const status = JSON.parse((await run('status', '--json')).stdout) as { paths: { state: string }[] };
    expect(status.paths.map((p) => p.state)).toEqual(['connected', 'connected']);
    const recent = await run('events', '--json', '--type', 'hook-failed');
    expect(recent.exitCode).toBe(0);
    expect(recent.stdout).toContain('"type":"hook-failed"');
    expect(recent.stdout.match(/"on":"connected"/g)).toHaveLength(1);
  });

  it('streams a later hook-failed to events --follow, with no secret anywhere', async () => {
    const follow = execa(process.execPath, [BIN, 'events', '--follow', '--json', '--type', 'hook-failed'], {
      cwd: work.dir,
      env: work.env,
      extendEnv: false,
      reject: false,
      buffer: false,
    });
    let followed = '';
    follow.stdout?.on('data', (chunk: Buffer) => {
      followed += chunk.toString();
    });
    try {
      // The replay shows the earlier failure, and the server subscribes before it replays: from here on, live.
      await expect.poll(() => followed, { timeout: 20_000 }).toContain('"on":"connected"');
      expect((await run('stop', 'b', '--json')).exitCode).toBe(0);
      await expect.poll(() => followed, { timeout: 20_000 }).toContain('"on":"disconnected"');
    } finally {
      follow.kill('SIGKILL');
      await follow;
    }
    const everything = JSON.stringify(up.lines) + followed;
    for (const secret of ['pw-s3cret', 'tok-s3cret', 'hdr-s3cret']) expect(everything).not.toContain(secret);
  });
});

describe('a hook still running when tunnelmux is SIGKILLed', () => {
  it("is ended with its whole process group by core's reaper", async () => {
    const target = await startBannerServer('SSH-2.0-hooks-kill\r\n');
    const script = 'echo $$ > leader.pid; sleep 300 & echo $! > child.pid; wait';
    const on = [
      'on:',
      '  primary-change:',
      `    - { command: [sh, -c, ${JSON.stringify(script)}], timeout: 5m }`,
    ].join('\n');
    const work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a'], on) });
    const pids: number[] = [];
    try {
      const up = await startUp(work.dir, work.env);
      const read = (name: string) => {
        try {
          return Number(readFileSync(path.join(work.dir, name), 'utf8')) || 0;
        } catch {
          return 0;
        }
      };
      await expect
        .poll(() => read('child.pid') > 0 && read('leader.pid') > 0, { timeout: 20_000 })
        .toBe(true);
      pids.push(read('leader.pid'), read('child.pid'));
      expect(pids.every(alive)).toBe(true);
      up.process.kill('SIGKILL');
      await up.process;
      await expect.poll(() => pids.some(alive), { timeout: 15_000 }).toBe(false);
    } finally {
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await target.close();
      work.cleanup();
    }
  });
});
