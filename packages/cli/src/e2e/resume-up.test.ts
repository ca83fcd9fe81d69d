import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { readSessionKeyFile } from '@tunnelmux/core/session';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, localConfig, type Running, startEchoServer, startUp, testdir } from './harness';

// A story through the real front door: `tunnelmux up` with `resume:`, two local stand-in paths (forwarder
// processes) to a `tunnelmux relay` in front of an echo target.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function keygen(dir: string, env: NodeJS.ProcessEnv, file: string): Promise<Buffer> {
  expect((await cli(['keygen', file], { cwd: dir, env })).exitCode).toBe(0);
  return readSessionKeyFile(path.join(dir, file));
}

/** A relay and an `up` with resume on, both started from the CLI. */
async function story(options: { clientKeyFile?: string; upArgs?: string[] } = {}) {
  const t = testdir();
  cleanups.push(t.cleanup);
  const key = await keygen(t.dir, t.env, 'session.key');
  if (options.clientKeyFile) await keygen(t.dir, t.env, options.clientKeyFile);
  const echo = await startEchoServer();
  cleanups.push(echo.close);
  const relay = await startUp(
    t.dir,
    t.env,
    ['--listen', '127.0.0.1:0', '--key-file', 'session.key'],
    ['relay', `127.0.0.1:${echo.port}`],
  );
  cleanups.push(() => relay.process.kill('SIGKILL'));
  const [host, port] = String(relay.ready.listen).split(':') as [string, string];
  const config = localConfig(
    { host, port: Number(port) },
    ['a', 'b'],
    `resume: { keyFile: ${options.clientKeyFile ?? 'session.key'}, heartbeat: 200ms, window: 30s }`,
  );
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path.join(t.dir, 'tunnelmux.yaml'), config);
  const up = await startUp(t.dir, t.env, options.upArgs);
  const stopped: number[] = [];
  cleanups.push(async () => {
    // A SIGSTOPped forwarder must run again to die on the SIGTERM that `up` sends it.
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {}
    }
    up.process.kill('SIGTERM');
    await up.process;
  });
  const run = (...args: string[]) => cli(args, { cwd: t.dir, env: t.env });
  return { t, key, echo, relay, up, run, stopped };
}

/**
 * Stream `total` random bytes through the front door to the echo target and back: send half, wait until it is
 * echoed, run `during` (the fault), then send the rest. Resolves with both digests and whether the client
 * socket closed before the end.
 */
async function echoStream(address: string, total: number, during: () => unknown) {
  const [host, port] = address.split(':') as [string, string];
  const socket = net.connect({ host, port: Number(port), allowHalfOpen: true });
  cleanups.push(() => socket.destroy());
  const sent = createHash('sha256');
  const got = createHash('sha256');
  let received = 0;
  let closedEarly = false;
  const waiting = new Set<{ bytes: number; resolve: () => void }>();
  const failed = new Promise<never>((_, reject) => {
    socket.on('error', reject);
    socket.on('close', () => {
      if (received < total) {
        closedEarly = true;
        reject(new Error(`the client socket closed after ${received} of ${total} bytes`));
      }
    });
  });
  failed.catch(() => undefined);
  socket.on('data', (chunk: Buffer) => {
    got.update(chunk);
    received += chunk.length;
    for (const waiter of [...waiting]) {
      if (received < waiter.bytes) continue;
      waiting.delete(waiter);
      waiter.resolve();
    }
  });
  const echoed = (bytes: number) =>
    Promise.race([
      failed,
      new Promise<void>((resolve) => (received >= bytes ? resolve() : waiting.add({ bytes, resolve }))),
    ]);
  const send = async (bytes: number) => {
    for (let offset = 0; offset < bytes; offset += 64 * 1024) {
      const chunk = randomBytes(Math.min(64 * 1024, bytes - offset));
      sent.update(chunk);
      if (!socket.write(chunk))
        await Promise.race([failed, new Promise((resolve) => socket.once('drain', resolve))]);
    }
  };
  await new Promise((resolve) => socket.once('connect', resolve));
  const half = Math.floor(total / 2);
  await send(half);
  await echoed(half);
  await during();
  await send(total - half);
  await echoed(total);
  return { sent: sent.digest('hex'), got: got.digest('hex'), closedEarly, socket };
}

type Status = {
  paths: { id: string; pid?: number; state: string }[];
  sessions?: { session: string; path?: string; attached: boolean; resumes: number }[];
};

const pidOf = async (run: (...args: string[]) => ReturnType<typeof cli>, id: string) => {
  const status = JSON.parse((await run('status', '--json')).stdout) as Status;
  return status.paths.find((p) => p.id === id)?.pid;
};

const resumedLines = (up: Running) => up.lines.filter((line) => line.type === 'session-resumed');

describe('up with resume: sessions survive their path', () => {
  it('a long echo stream survives a SIGKILL of the carrying path, then a black hole, every byte intact', async () => {
    const { key, up, run, stopped } = await story({ upArgs: ['--metrics-listen', '127.0.0.1:0'] });
    const listen = String(up.ready.listen);
    await expect
      .poll(
        async () => (JSON.parse((await run('status', '--json')).stdout) as Status).paths.map((p) => p.state),
        {
          timeout: 20_000,
        },
      )
      .toEqual(['connected', 'connected']);

    // 1. SIGKILL of the path process that carries the session.
    const pidA = await pidOf(run, 'a');
    expect(pidA).toBeGreaterThan(0);
    const killed = await echoStream(listen, 16 * 1024 * 1024, () => process.kill(pidA as number, 'SIGKILL'));
    expect(killed.closedEarly).toBe(false);
    expect(killed.got).toBe(killed.sent);
    const first = await up.waitFor((line) => line.type === 'session-resumed' && line.from === 'a');
    expect(first).toMatchObject({ to: 'b', session: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(first.stallMs).toEqual(expect.any(Number));
    killed.socket.destroy();

    // 2. A black hole: the carrying forwarder is SIGSTOPped, its connections stay open and go silent.
    let carrying: string | undefined;
    const holed = await echoStream(listen, 8 * 1024 * 1024, async () => {
      const status = JSON.parse((await run('status', '--json')).stdout) as Status;
      carrying = status.sessions?.[0]?.path;
      const pid = status.paths.find((p) => p.id === carrying)?.pid as number;
      stopped.push(pid);
      process.kill(pid, 'SIGSTOP');
    });
    expect(holed.closedEarly).toBe(false);
    expect(holed.got).toBe(holed.sent);
    expect(carrying).toBeDefined();
    await up.waitFor((line) => line.type === 'session-resumed' && line.from === carrying);
    expect(resumedLines(up).length).toBeGreaterThanOrEqual(2);

    // While a session is open, status shows it; the key is in no argv, status or event.
    const status = (await run('status', '--json')).stdout;
    expect((JSON.parse(status) as Status).sessions).toEqual([
      expect.objectContaining({ attached: true, session: expect.stringMatching(/^[0-9a-f]{8}$/) }),
    ]);
    const hex = key.toString('hex');
    expect(status).not.toContain(hex);
    expect(readFileSync(`/proc/${up.ready.pid}/cmdline`, 'utf8')).not.toContain(hex);
    expect(JSON.stringify(up.lines)).not.toContain(hex);
    const scraped = await (await fetch((up.ready as unknown as { metrics: string }).metrics)).text();
    expect(scraped).toMatch(/^tunnelmux_sessions_live\{service="default"\} 1$/m);
    expect(scraped).toMatch(/^tunnelmux_session_resumes_total\{service="default"\} [2-9]$/m);
    expect(scraped).toMatch(/^tunnelmux_session_resume_stall_seconds_count\{service="default"\} [2-9]$/m);
    expect(scraped).toMatch(/^tunnelmux_session_replayed_bytes_total\{service="default"\} \d+$/m);
    expect(scraped).not.toContain(hex);
    const events = await run('events', '--json', '--all', '--limit', '1000');
    expect(`${events.stdout}${events.stderr}`).not.toContain(hex);
    holed.socket.destroy();
  }, 120_000);

  it('a wrong key file: session-lost with key refused, and nothing reaches the target', async () => {
    const { echo, up, key } = await story({ clientKeyFile: 'other.key' });
    const listen = String(up.ready.listen);
    const [host, port] = listen.split(':') as [string, string];
    const socket = net.connect({ host, port: Number(port) });
    cleanups.push(() => socket.destroy());
    socket.on('error', () => undefined);
    socket.write('must never reach the target');
    const lost = await up.waitFor((line) => line.type === 'session-lost');
    expect(lost).toMatchObject({ reason: 'key-refused' });
    await new Promise((resolve) => (socket.destroyed ? resolve(undefined) : socket.once('close', resolve)));
    expect(echo.accepted).toBe(0);
    expect(JSON.stringify(up.lines)).not.toContain(key.toString('hex'));
  }, 60_000);

  it('a key file others can read is refused with the chmod that fixes it', async () => {
    const t = testdir({
      'tunnelmux.yaml': localConfig({ host: '127.0.0.1', port: 1 }, ['a'], 'resume: { keyFile: loose.key }'),
      'loose.key': `${randomBytes(32).toString('hex')}\n`,
    });
    cleanups.push(t.cleanup);
    const { chmodSync } = await import('node:fs');
    chmodSync(path.join(t.dir, 'loose.key'), 0o644);
    const result = await cli(['up', '--json'], { cwd: t.dir, env: t.env });
    expect(result.exitCode).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(
      /readable by others \(mode 644\); fix it with: chmod 600 /,
    );
  }, 30_000);
});
