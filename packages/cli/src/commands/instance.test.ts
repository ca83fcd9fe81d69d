import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSocket } from './instance';

let root: string;
let env: NodeJS.ProcessEnv;
let dir: string;
let elsewhere: string;
const servers: net.Server[] = [];

// A live instance: a real unix socket that accepts, named as `up` names it.
async function running(name: string): Promise<string> {
  const file = path.join(dir, `${name}.sock`);
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(file, resolve));
  servers.push(server);
  return file;
}

// What a crashed `up` leaves: a socket file nobody answers on (a listener killed with SIGKILL).
async function stale(name: string): Promise<string> {
  const file = path.join(dir, `${name}.sock`);
  const child = execa(process.execPath, [
    '-e',
    `require('net').createServer().listen(${JSON.stringify(file)}, () => console.log('listening'))`,
  ]);
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  child.kill('SIGKILL');
  await child.catch(() => undefined);
  return file;
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tmx-inst-'));
  env = { XDG_RUNTIME_DIR: path.join(root, 'run') };
  dir = path.join(root, 'run', 'tunnelmux');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  elsewhere = path.join(root, 'elsewhere');
  mkdirSync(elsewhere);
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(root, { recursive: true, force: true });
});

const resolve = (options: { socket?: string; name?: string; config?: string } = {}, cwd = elsewhere) =>
  resolveSocket(options, { env, cwd });

describe('which instance a control command talks to', () => {
  it('reaches the only running instance from a folder without a config', async () => {
    const file = await running('devbox');
    expect(await resolve()).toBe(file);
  });

  it('reaches it from / as well', async () => {
    const file = await running('expose');
    expect(await resolve({}, '/')).toBe(file);
  });

  it('lists every running instance by name when several are running, and says how to pick one', async () => {
    await running('devbox');
    await running('default');
    await running('lab');
    const refused = resolve();
    await expect(refused).rejects.toMatchObject({ exitCode: 2 });
    await expect(refused).rejects.toThrow(
      /^\[tunnelmux\] 3 tunnelmux instances are running: default, devbox, lab; name one with --name <name> \(or --socket <file>\)$/,
    );
  });

  it('leaves out sockets nobody answers on', async () => {
    await stale('old');
    const file = await running('devbox');
    expect(await resolve()).toBe(file);
  });

  it('says none is running, and where it looked, when there is none', async () => {
    await stale('old');
    await expect(resolve()).rejects.toThrow(
      `[tunnelmux] no tunnelmux of yours is running: no live control socket in ${dir}; start one with \`tunnelmux up\``,
    );
  });

  it("uses the name in this folder's config even when others are running", async () => {
    await running('lab');
    const mine = await running('devbox');
    writeFileSync(path.join(elsewhere, 'tunnelmux.yaml'), 'name: devbox\ntarget: h:22\n');
    expect(await resolve()).toBe(mine);
  });

  it('uses "default" for a config in this folder without a name', async () => {
    await running('lab');
    const file = await running('default');
    writeFileSync(path.join(elsewhere, 'tunnelmux.yaml'), 'target: h:22\n');
    expect(await resolve()).toBe(file);
  });

  it('names the running ones when the named instance is not running', async () => {
    await running('lab');
    await expect(resolve({ name: 'devbox' })).rejects.toThrow(
      `[tunnelmux] no tunnelmux named "devbox" is running (no control socket at ${path.join(dir, 'devbox.sock')}); running: lab (--name lab)`,
    );
  });

  it('takes --name and --socket as given', async () => {
    await running('lab');
    await running('devbox');
    expect(await resolve({ name: 'lab' })).toBe(path.join(dir, 'lab.sock'));
    expect(await resolve({ socket: 'x.sock' })).toBe(path.join(elsewhere, 'x.sock'));
  });
});
