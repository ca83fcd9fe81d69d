import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeEnv, fakeNgrokAccounts, fakeNgrokAuthtoken } from '@tunnelmux/testkit/fakes';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, LOCAL_PLUGIN, startEchoServer, startUp, testdir } from './harness';

// `expose --resume` on the server publishes an in-process relay through two providers (the fake ngrok agent and
// testkit's local stand-in); a client `up` with `resume:` has one path to each public address.

const NGROK_PACKAGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../provider-ngrok');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const hostPort = (url: string) => {
  const { hostname, port } = new URL(url);
  return `${hostname}:${port}`;
};

describe('expose --resume', () => {
  it('publishes the relay through two providers; a session carries on when one provider is killed', async () => {
    const echo = await startEchoServer();
    cleanups.push(echo.close);
    const service = echo.port;
    const t = testdir({
      'server.yaml': [
        `plugins: [${JSON.stringify(NGROK_PACKAGE)}, ${JSON.stringify(LOCAL_PLUGIN)}]`,
        'failover: { interval: 500ms, timeout: 5s, maxLatency: 5s, fall: 2, rise: 1 }',
        'expose: { port: 1, via: [ngrok], options: { local: { readyTimeoutMs: 20000 } } }',
      ].join('\n'),
    });
    cleanups.push(t.cleanup);
    const token = fakeNgrokAuthtoken();
    const env = {
      ...t.env,
      PATH: fakeEnv().PATH,
      ...fakeNgrokAccounts([token]),
      NGROK_AUTHTOKEN: token,
    };
    expect((await cli(['keygen', 'session.key'], { cwd: t.dir, env })).exitCode).toBe(0);

    const server = await startUp(
      t.dir,
      env,
      ['--via', 'ngrok,local', '--resume', '--key-file', 'session.key', '--config', 'server.yaml'],
      ['expose', String(service)],
    );
    cleanups.push(async () => {
      server.process.kill('SIGTERM');
      await server.process;
    });
    const ngrokUrl = String(
      (await server.waitFor((l) => l.type === 'public-url' && l.pathId === 'ngrok')).publicUrl,
    );
    const localUrl = String(
      (await server.waitFor((l) => l.type === 'public-url' && l.pathId === 'local')).publicUrl,
    );
    // The providers publish the relay (on its own loopback port), not the raw port.
    const status = JSON.parse(
      (await cli(['status', '--json', '--name', 'expose'], { cwd: t.dir, env })).stdout,
    ) as {
      paths: { id: string; target: string; pid?: number }[];
    };
    expect(status.paths.map((p) => p.id).sort()).toEqual(['local', 'ngrok']);
    for (const p of status.paths) {
      expect(p.target).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(p.target).not.toBe(`127.0.0.1:${service}`);
    }
    const ngrokPid = status.paths.find((p) => p.id === 'ngrok')?.pid as number;
    expect(ngrokPid).toBeGreaterThan(0);

    // The client: one local path to each public address, ngrok's first.
    const client = testdir({
      'tunnelmux.yaml': [
        'name: client',
        'listen: 127.0.0.1:0',
        'protocol: tcp',
        `plugins: [${JSON.stringify(LOCAL_PLUGIN)}]`,
        'failover: { interval: 300ms, timeout: 5s, maxLatency: 5s, fall: 2, rise: 2, minDwell: 500ms }',
        'resume: { keyFile: session.key, heartbeat: 200ms }',
        'paths:',
        `  - { id: via-ngrok, provider: local, priority: 1, target: "${hostPort(ngrokUrl)}" }`,
        `  - { id: via-local, provider: local, priority: 2, target: "${hostPort(localUrl)}" }`,
      ].join('\n'),
    });
    cleanups.push(client.cleanup);
    const { copyFileSync, chmodSync } = await import('node:fs');
    copyFileSync(path.join(t.dir, 'session.key'), path.join(client.dir, 'session.key'));
    chmodSync(path.join(client.dir, 'session.key'), 0o600);
    const up = await startUp(client.dir, client.env);
    cleanups.push(async () => {
      up.process.kill('SIGTERM');
      await up.process;
    });
    await up.waitFor((l) => l.type === 'state-change' && l.pathId === 'via-local' && l.to === 'connected');

    // A session through the client's front door: half the stream, the ngrok agent killed, the rest.
    const [host, port] = String(up.ready.listen).split(':') as [string, string];
    const socket = net.connect({ host, port: Number(port) });
    cleanups.push(() => socket.destroy());
    await new Promise((resolve) => socket.once('connect', resolve));
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let received = 0;
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      got.update(chunk);
      received += chunk.length;
    });
    socket.on('close', () => {
      closed = true;
    });
    const half = 2 * 1024 * 1024;
    const write = async (bytes: number) => {
      for (let offset = 0; offset < bytes; offset += 64 * 1024) {
        const chunk = randomBytes(64 * 1024);
        sent.update(chunk);
        if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
      }
    };
    await write(half);
    await expect.poll(() => received, { timeout: 20_000 }).toBe(half);
    expect(up.lines.find((l) => l.type === 'session-resumed')).toBeUndefined();
    process.kill(ngrokPid, 'SIGKILL');
    await write(half);
    await expect.poll(() => received, { timeout: 30_000 }).toBe(2 * half);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
    expect(closed).toBe(false);
    expect(await up.waitFor((l) => l.type === 'session-resumed')).toMatchObject({
      from: 'via-ngrok',
      to: 'via-local',
    });
  }, 120_000);

  it('needs --key-file, and refuses a key file others can read with the chmod that fixes it', async () => {
    const t = testdir({ 'session.key': `${randomBytes(32).toString('hex')}\n` });
    cleanups.push(t.cleanup);
    const { chmodSync } = await import('node:fs');
    const noKey = await cli(['expose', '22', '--via', 'local', '--resume'], { cwd: t.dir, env: t.env });
    expect(noKey.exitCode).toBe(2);
    expect(noKey.stderr).toMatch(/--resume needs --key-file <file>/);
    chmodSync(path.join(t.dir, 'session.key'), 0o644);
    const loose = await cli(['expose', '22', '--via', 'local', '--resume', '--key-file', 'session.key'], {
      cwd: t.dir,
      env: t.env,
    });
    expect(loose.exitCode).toBe(2);
    expect(loose.stderr).toMatch(/readable by others \(mode 644\); fix it with: chmod 600 /);
  });
});
