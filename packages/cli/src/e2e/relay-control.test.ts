import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { probeRelay, readSessionKeyFile, resumableSession } from '@tunnelmux/core/session';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from '../control/client';
import { BIN, cli, connectTo, startEchoServer, startUp, testdir } from './harness';

// `tunnelmux relay` serves the same control socket as `up`: `status` shows its live sessions and totals.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Two connected sockets on 127.0.0.1: `inside` plays the front door's accepted client.
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const local = await connectTo(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  const inside = await accepted;
  server.close();
  cleanups.push(() => {
    local.destroy();
    inside.destroy();
  });
  return [local, inside];
}

interface Status {
  kind: string;
  name: string;
  listen: string;
  target: string;
  windowMs: number;
  sessions: {
    id: string;
    attached: boolean;
    since: number;
    bytesIn: number;
    bytesOut: number;
    resumes: number;
  }[];
  totals: {
    opened: number;
    live: number;
    resumed: number;
    keyRefusals: number;
    lost: Record<string, number>;
  };
}

describe('tunnelmux relay control socket', () => {
  it('answers status with its live sessions and totals, never shows the key, and removes its socket on SIGTERM', async () => {
    const t = testdir();
    cleanups.push(t.cleanup);
    expect((await cli(['keygen', 'session.key'], { cwd: t.dir, env: t.env })).exitCode).toBe(0);
    const keyFile = readFileSync(path.join(t.dir, 'session.key'), 'utf8');
    const key = await readSessionKeyFile(path.join(t.dir, 'session.key'));
    const secrets = [keyFile.trim(), key.toString('hex'), key.toString('base64'), key.toString('base64url')];
    const echo = await startEchoServer();
    cleanups.push(echo.close);
    const port = echo.port;
    const relay = await startUp(
      t.dir,
      t.env,
      ['--listen', '127.0.0.1:0', '--key-file', 'session.key', '--window', '30s'],
      ['relay', `127.0.0.1:${port}`],
    );
    cleanups.push(() => relay.process.kill('SIGKILL'));
    const listen = relay.ready.listen as string;
    const socket = relay.ready.socket;
    expect(socket).toBe(path.join(t.env.XDG_RUNTIME_DIR as string, 'tunnelmux', 'relay.sock'));
    const status = async () => {
      const result = await cli(['status', '--name', 'relay', '--json'], { cwd: t.dir, env: t.env });
      expect(result.exitCode, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as Status;
    };

    // Before any session: where it listens and what it fronts.
    expect(await status()).toMatchObject({
      kind: 'relay',
      name: 'relay',
      listen,
      target: `127.0.0.1:${port}`,
      windowMs: 30_000,
      sessions: [],
      totals: { opened: 0, live: 0 },
    });

    // `events --follow` streams what the relay logs.
    const follow = execa(process.execPath, [BIN, 'events', '--follow', '--json', '--name', 'relay'], {
      cwd: t.dir,
      env: t.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    cleanups.push(() => follow.kill('SIGKILL'));
    let followed = '';
    follow.stdout?.on('data', (chunk: Buffer) => {
      followed += chunk.toString();
    });

    // A session through the relay, whose second carrier waits until the test lets it dial.
    let carrier: net.Socket | undefined;
    let letResume: () => void = () => undefined;
    const resumeAllowed = new Promise<void>((resolve) => {
      letResume = resolve;
    });
    const [local, inside] = await socketPair();
    const session = resumableSession(inside, {
      key,
      dial: async ({ purpose }) => {
        if (purpose === 'resume') await resumeAllowed;
        carrier = await connectTo(listen);
        return { socket: carrier, path: 'direct' };
      },
    });
    cleanups.push(() => session.close('test over'));
    const data = randomBytes(64 * 1024);
    const echoed: Buffer[] = [];
    local.on('data', (chunk: Buffer) => echoed.push(chunk));
    local.write(data);
    await expect.poll(() => Buffer.concat(echoed).length, { timeout: 15_000 }).toBe(data.length);
    await relay.waitFor((line) => line.type === 'session-opened');
    const id = (session.id ?? '').slice(0, 8);
    expect(id).toMatch(/^[0-9a-f]{8}$/);

    const live = await status();
    expect(live.sessions).toHaveLength(1);
    const [one] = live.sessions;
    expect(one).toMatchObject({ id, attached: true, resumes: 0 });
    expect(one?.bytesIn).toBeGreaterThanOrEqual(data.length);
    expect(one?.bytesOut).toBeGreaterThanOrEqual(data.length);
    expect(live.totals).toMatchObject({ opened: 1, live: 1, resumed: 0, keyRefusals: 0 });
    // Only the id's prefix is shown, never the whole id.
    const fullId = session.id as string;
    expect(fullId).toMatch(/^[0-9a-f]{16,}$/);
    expect(JSON.stringify(live)).not.toContain(fullId);

    // The carrier dies: the relay shows the session detached; once it resumes, attached with one resume.
    carrier?.destroy();
    await expect
      .poll(async () => (await status()).sessions[0]?.attached, { timeout: 15_000, interval: 200 })
      .toBe(false);
    letResume();
    await expect
      .poll(async () => (await status()).sessions[0], { timeout: 15_000, interval: 200 })
      .toMatchObject({ id, attached: true, resumes: 1 });

    // A wrong key is counted.
    await expect(probeRelay(await connectTo(listen), { key: randomBytes(32) })).rejects.toMatchObject({
      reason: 'key-refused',
    });
    await expect
      .poll(async () => (await status()).totals.keyRefusals, { timeout: 15_000, interval: 200 })
      .toBe(1);
    const final = await status();
    expect(final.totals).toMatchObject({ opened: 1, live: 1, resumed: 1, keyRefusals: 1 });

    // In words, for people.
    const words = await cli(['status', '--name', 'relay'], { cwd: t.dir, env: t.env });
    expect(words.exitCode, words.stderr).toBe(0);
    expect(words.stdout).toContain(`relay relay (pid ${relay.ready.pid}) on ${listen} -> 127.0.0.1:${port}`);
    expect(words.stdout).toMatch(new RegExp(`${id}\\s+attached`));
    expect(words.stdout).toContain('sessions: 1 live (0 detached), 1 opened, 1 resumed');
    expect(words.stdout).toContain('refused: 1 wrong key');

    // Recent events, and the followed stream, carry the session opening and the resume.
    const recent = await cli(['events', '--name', 'relay', '--json', '--all'], { cwd: t.dir, env: t.env });
    expect(recent.exitCode, recent.stderr).toBe(0);
    expect(recent.stdout).toContain(`session ${id} opened from 127.0.0.1:`);
    expect(recent.stdout).toContain('"type":"session-resumed"');
    await expect.poll(() => followed, { timeout: 15_000 }).toContain(`session ${id} opened`);
    await expect.poll(() => followed, { timeout: 15_000 }).toContain('"type":"session-resumed"');

    expect(`${recent.stdout}${followed}`).not.toContain(fullId);
    const info = await request(socket, 'info');
    expect(info).toMatchObject({ kind: 'relay', name: 'relay', pid: relay.ready.pid, listen, socket });

    // Prometheus text and the metrics counters, over the socket as for `up`.
    const scraped = await cli(['metrics', '--name', 'relay', '--format', 'prometheus'], {
      cwd: t.dir,
      env: t.env,
    });
    expect(scraped.exitCode, scraped.stderr).toBe(0);
    expect(scraped.stdout).toContain('tunnelmux_relay_sessions_live 1');
    expect(scraped.stdout).toContain('tunnelmux_relay_key_refusals_total 1');
    const counters = await cli(['metrics', '--name', 'relay'], { cwd: t.dir, env: t.env });
    expect(counters.exitCode, counters.stderr).toBe(0);
    expect(JSON.parse(counters.stdout)).toMatchObject({ sessionsOpened: 1, resumes: 1, keyRefusals: 1 });

    // A relay has no paths: path commands say so instead of failing oddly.
    const list = await cli(['list', '--name', 'relay'], { cwd: t.dir, env: t.env });
    expect(list.exitCode).toBe(1);
    expect(list.stderr).toMatch(/"list" needs paths, and this relay has none/);

    // The key is in none of it: not in status (JSON or words), events, the process's argv or its log.
    const cmdline = readFileSync(`/proc/${relay.ready.pid}/cmdline`, 'utf8');
    const seen = [
      JSON.stringify(final),
      JSON.stringify(info),
      scraped.stdout,
      counters.stdout,
      words.stdout,
      recent.stdout,
      followed,
      cmdline,
      JSON.stringify(relay.lines),
    ].join('\n');
    expect(seen).toContain(id);
    for (const secret of secrets) expect(seen).not.toContain(secret);

    // SIGTERM: the relay exits 0, its socket is gone and the follower's stream ends.
    relay.process.kill('SIGTERM');
    expect((await relay.process).exitCode).toBe(0);
    expect(existsSync(socket)).toBe(false);
    expect((await follow).exitCode).toBe(0);
    const after = await cli(['status', '--name', 'relay'], { cwd: t.dir, env: t.env });
    expect(after.exitCode).toBe(1);
    expect(after.stderr).toMatch(/no tunnelmux is running on .*relay\.sock/);
  });

  it('refuses a name that would leave the socket folder, and a second relay of the same name', async () => {
    const t = testdir();
    cleanups.push(t.cleanup);
    expect((await cli(['keygen', 'session.key'], { cwd: t.dir, env: t.env })).exitCode).toBe(0);
    const args = ['relay', '127.0.0.1:1', '--listen', '127.0.0.1:0', '--key-file', 'session.key'];
    const climbing = await cli([...args, '--name', '../x'], { cwd: t.dir, env: t.env });
    expect(climbing.exitCode).toBe(2);
    expect(climbing.stderr).toMatch(/--name must be letters, digits.*got "\.\.\/x"/);
    expect(existsSync(path.join(t.env.XDG_RUNTIME_DIR as string, 'x.sock'))).toBe(false);

    const first = await startUp(t.dir, t.env, args.slice(2).concat('--name', 'r1'), args.slice(0, 2));
    cleanups.push(() => first.process.kill('SIGKILL'));
    const second = await cli([...args, '--name', 'r1'], { cwd: t.dir, env: t.env });
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toMatch(/another tunnelmux is already running on .*r1\.sock/);
    // The first still answers.
    const status = await cli(['status', '--name', 'r1', '--json'], { cwd: t.dir, env: t.env });
    expect(JSON.parse(status.stdout)).toMatchObject({ kind: 'relay', name: 'r1' });
  });
});
