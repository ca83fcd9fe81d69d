import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { probeRelay, readSessionKeyFile, resumableSession } from '@tunnelmux/core/session';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, connectTo, startEchoServer, startUp, testdir } from './harness';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('tunnelmux keygen', () => {
  it('writes a 0600 key without printing it, and refuses to overwrite it', async () => {
    const t = testdir();
    cleanups.push(t.cleanup);
    const first = await cli(['keygen', 'session.key'], { cwd: t.dir, env: t.env });
    expect(first.exitCode).toBe(0);
    const file = path.join(t.dir, 'session.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file, 'utf8').trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(`${first.stdout}${first.stderr}`).not.toContain(key);
    const again = await cli(['keygen', 'session.key'], { cwd: t.dir, env: t.env });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already exists; refusing to overwrite/);
    expect(readFileSync(file, 'utf8').trim()).toBe(key);
  });
});

describe('tunnelmux relay', () => {
  it('refuses a key file others can read, naming the chmod that fixes it', async () => {
    const t = testdir({ 'session.key': `${randomBytes(32).toString('hex')}\n` });
    cleanups.push(t.cleanup);
    chmodSync(path.join(t.dir, 'session.key'), 0o644);
    const result = await cli(
      ['relay', '127.0.0.1:1', '--listen', '127.0.0.1:0', '--key-file', 'session.key'],
      {
        cwd: t.dir,
        env: t.env,
      },
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/readable by others \(mode 644\); fix it with: chmod 600 session.key/);
  });

  it('serves resumable sessions, logs a wrong key with its peer, keeps the key out of argv and output, stops on SIGTERM', async () => {
    const t = testdir();
    cleanups.push(t.cleanup);
    expect((await cli(['keygen', 'session.key'], { cwd: t.dir, env: t.env })).exitCode).toBe(0);
    const key = await readSessionKeyFile(path.join(t.dir, 'session.key'));
    const echo = await startEchoServer();
    cleanups.push(echo.close);
    const port = echo.port;
    const relay = await startUp(
      t.dir,
      t.env,
      ['--listen', '127.0.0.1:0', '--key-file', 'session.key', '--metrics-listen', '127.0.0.1:0'],
      ['relay', `127.0.0.1:${port}`],
    );
    cleanups.push(() => relay.process.kill('SIGKILL'));
    const listen = relay.ready.listen as string;

    // A session through the relay: bytes echo back intact.
    const [local, inside] = await socketPair();
    const session = resumableSession(inside, {
      key,
      dial: async () => ({ socket: await connectTo(listen), path: 'direct' }),
    });
    const data = randomBytes(256 * 1024);
    const echoed: Buffer[] = [];
    local.on('data', (chunk: Buffer) => echoed.push(chunk));
    local.write(data);
    await expect.poll(() => Buffer.concat(echoed).length, { timeout: 10_000 }).toBe(data.length);
    expect(Buffer.concat(echoed).equals(data)).toBe(true);
    await relay.waitFor((line) => line.type === 'session-opened');

    // A probe proves the key; a wrong key is refused and logged with the peer address.
    expect(await probeRelay(await connectTo(listen), { key })).toMatchObject({ ok: true });
    await expect(probeRelay(await connectTo(listen), { key: randomBytes(32) })).rejects.toMatchObject({
      reason: 'key-refused',
    });
    const refused = await relay.waitFor((line) => line.type === 'key-refused');
    expect(refused.peer).toMatch(/^127\.0\.0\.1:\d+$/);

    // Prometheus counts the session and the refusal.
    const scraped = await (await fetch((relay.ready as unknown as { metrics: string }).metrics)).text();
    expect(scraped).toContain('tunnelmux_relay_sessions_live 1');
    expect(scraped).toContain('tunnelmux_relay_key_refusals_total 1');

    // The key is nowhere a user or another local user could see it.
    const hex = key.toString('hex');
    const cmdline = readFileSync(`/proc/${relay.ready.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('relay');
    expect(cmdline).not.toContain(hex);

    session.close('test over');
    local.destroy();
    relay.process.kill('SIGTERM');
    const result = await relay.process;
    expect(result.exitCode).toBe(0);
    expect(relay.lines.at(-1)).toMatchObject({ type: 'stopped' });
    expect(JSON.stringify(relay.lines)).not.toContain(hex);
    expect(String(result.stderr ?? '')).not.toContain(hex);
    expect(scraped).not.toContain(hex);
  });
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
