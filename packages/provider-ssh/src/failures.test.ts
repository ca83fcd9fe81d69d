import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { generateKey, knownHostsLine, type Sshd, startSshd } from '@tunnelmux/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FirstOpen, jumpOptions, openOnce } from './test-support';

// Each failure is produced for real against OpenSSH: the message must say what broke and how to fix it.
describe('ssh provider against a real sshd: failures on first open', () => {
  let jump: Sshd;
  let target: BannerServer;
  let opened: FirstOpen | undefined;

  beforeAll(async () => {
    jump = await startSshd();
    target = await startBannerServer();
  });
  afterEach(async () => {
    await opened?.manager.shutdown();
    opened = undefined;
  });
  afterAll(async () => {
    await jump?.close();
    await target?.close();
  });

  it('a key the server does not know: fatal "refused the key", no retry loop', async () => {
    const stranger = await generateKey(path.join(jump.dir, 'stranger'));
    opened = await openOnce(jumpOptions(jump, { identityFile: stranger.privateKey }), target);
    expect(opened.status.state).toBe('failed');
    expect(opened.error?.fatal).toBe(true);
    expect(opened.error?.message).toMatch(/^\[tunnelmux\] \[ssh\] /);
    expect(opened.error?.message).toContain('Permission denied (publickey)');
    expect(opened.error?.message).toContain(stranger.privateKey);
    expect(opened.error?.message).toContain('authorized_keys');
  });

  it('a host key missing from known_hosts with strict checking: fatal, says how to add it', async () => {
    const empty = path.join(jump.dir, 'empty_known_hosts');
    await writeFile(empty, '');
    opened = await openOnce(jumpOptions(jump, { knownHostsFile: empty }), target);
    expect(opened.status.state).toBe('failed');
    expect(opened.error?.fatal).toBe(true);
    expect(opened.error?.message).toContain(`No ED25519 host key is known for [127.0.0.1]:${jump.port}`);
    expect(opened.error?.message).toContain('ssh-keyscan');
  });

  it('accept-new trusts a first-seen host key and records it', async () => {
    const fresh = path.join(jump.dir, 'fresh_known_hosts');
    await writeFile(fresh, '');
    opened = await openOnce(
      jumpOptions(jump, { knownHostsFile: fresh, strictHostKeyChecking: 'accept-new' }),
      target,
    );
    expect(opened.status.state).toBe('connected');
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(fresh, 'utf8')).toContain(`[127.0.0.1]:${jump.port}`);
  });

  it('a changed host key: fatal, warns of interception, says how to remove the old entry', async () => {
    const impostor = await generateKey(path.join(jump.dir, 'impostor_host'));
    const pinned = path.join(jump.dir, 'changed_known_hosts');
    await writeFile(pinned, knownHostsLine('127.0.0.1', jump.port, impostor.publicKey) + '\n');
    opened = await openOnce(jumpOptions(jump, { knownHostsFile: pinned }), target);
    expect(opened.status.state).toBe('failed');
    expect(opened.error?.fatal).toBe(true);
    expect(opened.error?.message).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
    expect(opened.error?.message).toContain('ssh-keygen -R');
  });

  it('a closed port: "refused the connection", retried rather than fatal', async () => {
    const closed = await freePort();
    opened = await openOnce(jumpOptions(jump, { port: closed }), target);
    expect(opened.status.state).toBe('reconnecting');
    expect(opened.error?.fatal).toBe(false);
    expect(opened.error?.message).toContain(`connect to host 127.0.0.1 port ${closed}: Connection refused`);
    expect(opened.error?.message).toContain('is sshd running');
  });

  it('a jump host that accepts TCP but never speaks: "timed out", retried rather than fatal', async () => {
    // SIGSTOP on the listener: the kernel still completes the handshake, the SSH banner never comes.
    await jump.freeze({ listener: true });
    try {
      opened = await openOnce(jumpOptions(jump, { connectTimeout: 1 }), target);
    } finally {
      await jump.thaw();
    }
    expect(opened.status.state).toBe('reconnecting');
    expect(opened.error?.fatal).toBe(false);
    expect(opened.error?.message).toContain('Connection timed out during banner exchange');
    expect(opened.error?.message).toContain('stopped answering');
  });

  it('a forward port another program holds: ssh says it cannot listen, and the squatter is not mistaken for ssh', async () => {
    // The squatter accepts connections, so "the port accepts" alone would wrongly look ready.
    const squatter = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const taken = (squatter.address() as net.AddressInfo).port;
    try {
      opened = await openOnce(jumpOptions(jump, { localPort: taken }), target);
      expect(opened.status.state).toBe('reconnecting');
      expect(opened.error?.fatal).toBe(false);
      expect(opened.error?.message).toContain(`could not listen on 127.0.0.1:${taken}`);
      expect(opened.error?.message).toMatch(/Address already in use|cannot listen to port/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
