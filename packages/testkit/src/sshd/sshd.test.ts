import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type Sshd, sshLogin, startSshd } from './sshd';

const _run = promisify(execFile);

function login(server: Sshd, knownHosts = server.knownHostsFile) {
  return sshLogin(server, 'echo logged-in', {
    knownHostsFile: knownHosts,
    connectTimeoutS: 5,
    timeoutMs: 20_000,
  });
}

// A zombie waiting for its new parent (pid 1) to reap it counts as gone.
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

// The harness the ssh provider's tests stand on: a real sshd, reachable by key, gone without a trace after close.
describe('startSshd', () => {
  const servers: Sshd[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it('starts a real sshd on 127.0.0.1 that the generated key logs in to, with a pinned host key', async () => {
    const server = await startSshd();
    servers.push(server);
    expect(server.host).toBe('127.0.0.1');
    expect(server.knownHostsLine('127.0.0.1', 2222)).toMatch(/^\[127\.0\.0\.1\]:2222 ssh-ed25519 \S+$/);
    const { stdout } = await login(server);
    expect(stdout.trim()).toBe('logged-in');
    expect(server.logs().join('\n')).toContain('Accepted publickey');
  });

  it('gives every server its own host key, so one pin does not fit another', async () => {
    const [one, two] = await Promise.all([startSshd(), startSshd()]);
    servers.push(one, two);
    expect(one.hostPublicKey).not.toBe(two.hostPublicKey);
    expect(one.port).not.toBe(two.port);
    await expect(login(two, one.knownHostsFile)).rejects.toThrow(
      /Host key verification failed|No ED25519 host key/,
    );
  });

  it('freeze makes open sessions a black hole until thaw', async () => {
    const server = await startSshd();
    servers.push(server);
    // A session: a TCP connection sshd has forked a process for (it sends its banner first).
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((resolve) => socket.once('data', resolve));
    const frozen = await server.freeze();
    expect(frozen.length).toBeGreaterThan(0);
    // SIGSTOP lands asynchronously: poll (bounded) until every frozen pid reports state T.
    const state = (pid: number) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    };
    for (let i = 0; i < 100 && !frozen.every((pid) => state(pid) === 'T'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(frozen.map(state)).toEqual(frozen.map(() => 'T'));
    await server.thaw();
    socket.destroy();
  });

  it('close ends the listener and its sessions and removes the folder', async () => {
    const server = await startSshd();
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    await new Promise((resolve) => socket.once('data', resolve));
    const sessions = await server.sessions();
    expect(sessions.length).toBeGreaterThan(0);
    await server.freeze();
    await server.close();
    await server.close(); // idempotent
    socket.destroy();
    expect(isRunning(server.pid)).toBe(false);
    for (const pid of sessions) expect(isRunning(pid), `session ${pid}`).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
    await expect(
      new Promise((resolve, reject) => {
        const probe = net.connect({ host: '127.0.0.1', port: server.port });
        probe.once('connect', () => {
          probe.destroy();
          resolve('accepted');
        });
        probe.once('error', reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
