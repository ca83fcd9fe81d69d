import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Manager } from '@tunnelmux/core';
import { execa, execaSync } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from './client';
import { ControlServer } from './server';
import { ensurePrivateDir } from './socket-path';

// Only what the control server calls for `status`.
const manager = {
  status: () => ({ primary: 'a', autoFailover: true, degraded: false, paths: [] }),
} as unknown as Manager;

let root: string;
let server: ControlServer;
beforeEach(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tmx-ctl-'));
  chmodSync(root, 0o755);
  server = new ControlServer(path.join(root, 'run', 'tunnelmux', 'x.sock'), {
    instance: manager,
    paths: manager,
    info: () => ({}),
    recent: () => [],
  });
  await server.start();
});
afterEach(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const canSwitchUser =
  process.getuid?.() === 0 && execaSync('which', ['setpriv'], { reject: false }).exitCode === 0;

describe('the control socket', () => {
  it('is a 0600 socket in a 0700 folder owned by this user', async () => {
    const socket = statSync(server.file);
    const folder = statSync(path.dirname(server.file));
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);
    expect(folder.mode & 0o777).toBe(0o700);
    expect(socket.uid).toBe(process.getuid?.());
    expect(await request(server.file, 'status')).toMatchObject({ primary: 'a' });
  });

  it('is not opened by a client when someone made it reachable by others', async () => {
    chmodSync(server.file, 0o666);
    await expect(request(server.file, 'status')).rejects.toThrow(
      /has mode 666; it must be private \(600\): chmod 600/,
    );
  });

  it('refuses a socket folder that others can write to', () => {
    const open = path.join(root, 'open');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    expect(() => ensurePrivateDir(open)).toThrow(/has mode 777; it must be private \(700\)/);
  });

  it('refuses a second instance on the same socket', async () => {
    const second = new ControlServer(server.file, {
      instance: manager,
      paths: manager,
      info: () => ({}),
      recent: () => [],
    });
    await expect(second.start()).rejects.toThrow(/another tunnelmux is already running/);
  });

  it.runIf(canSwitchUser)('refuses a process of another user (uid 65534)', async () => {
    // The folders above the socket stay traversable, so only the socket's own folder and mode stop the stranger.
    chmodSync(path.join(root, 'run'), 0o755);
    const script = `require('net').connect(${JSON.stringify(server.file)}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(3); });`;
    const stranger = await execa(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script],
      {
        reject: false,
      },
    );
    expect(stranger.stdout.trim()).toBe('EACCES');
    expect(stranger.exitCode).toBe(3);
    // The same script as this user connects, so the refusal above is about the user, not the script.
    const owner = await execa(process.execPath, ['-e', script], { reject: false });
    expect(owner.stdout.trim()).toBe('CONNECTED');
  });
});
