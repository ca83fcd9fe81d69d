import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, validateOptions } from '@tunnelmux/core';
import { afterAll, describe, expect, it } from 'vitest';
import { explainSshFailure } from './explain';
import { parseSshVersion, sshArgs, sshProvider } from './index';

const valid = { host: 'jump.example.com', user: 'me' };

// identityFile and configFile must exist: the schema reads the disk.
const keys = mkdtempSync(path.join(os.tmpdir(), 'tmx-ssh-keys-'));
const keyFile = path.join(keys, 'id');
writeFileSync(keyFile, 'not a real key; only its existence is checked\n', { mode: 0o600 });
afterAll(() => rmSync(keys, { recursive: true, force: true }));

async function reject(options: unknown): Promise<ConfigError> {
  const error = await validateOptions(sshProvider, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `accepted ${JSON.stringify(options)}`).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('ssh options', () => {
  it('fills safe defaults: strict host keys, keepalives, a connect timeout', async () => {
    const options = await validateOptions(sshProvider, valid);
    expect(options).toMatchObject({
      port: 22,
      strictHostKeyChecking: 'yes',
      serverAliveInterval: 15,
      serverAliveCountMax: 3,
      connectTimeout: 10,
      sshOptions: {},
    });
  });

  it('never accepts a password, at the top level or hidden in sshOptions, and never echoes it', async () => {
    const top = await reject({ ...valid, password: 'hunter2' });
    expect(top.message).toMatch(/never takes a password/);
    expect(top.message).not.toContain('hunter2');
    expect((await reject({ ...valid, sshOptions: { PasswordAuthentication: 'yes' } })).message).toMatch(
      /password authentication/,
    );
    expect(
      (await reject({ ...valid, sshOptions: { ProxyCommand: 'sshpass -p x ssh -W %h:%p b' } })).message,
    ).toMatch(/password/);
    expect(
      (await reject({ ...valid, sshOptions: { PreferredAuthentications: 'keyboard-interactive' } })).message,
    ).toMatch(/password/);
  });

  it('keeps the options it manages out of sshOptions, naming the field to use instead', async () => {
    const error = await reject({ ...valid, sshOptions: { StrictHostKeyChecking: 'no' } });
    expect(error.message).toContain('[tunnelmux] [ssh]');
    expect(error.message).toContain('strictHostKeyChecking');
    await reject({ ...valid, sshOptions: { BatchMode: 'no' } });
    await reject({ ...valid, sshOptions: { ControlMaster: 'auto' } });
    await reject({ ...valid, sshOptions: { 'Bad Key': 'x' } });
    await reject({ ...valid, sshOptions: { Ciphers: 'aes\nProxyCommand x' } });
  });

  it('allows strictHostKeyChecking "no" only with the explicit insecure switch', async () => {
    expect((await reject({ ...valid, strictHostKeyChecking: 'no' })).message).toMatch(
      /insecureNoHostKeyCheck/,
    );
    const options = await validateOptions(sshProvider, {
      ...valid,
      strictHostKeyChecking: 'no',
      insecureNoHostKeyCheck: true,
    });
    expect(options.strictHostKeyChecking).toBe('no');
  });

  it('rejects hosts and users that ssh would read as options or other destinations', async () => {
    await reject({ host: '-oProxyCommand=x' });
    await reject({ host: 'a b' });
    await reject({ ...valid, user: 'me@other' });
    await reject({ ...valid, port: 0 });
    await reject({ ...valid, unknown: 1 });
  });

  it('refuses an identityFile that does not exist, instead of letting the server seem to refuse it', async () => {
    const missing = path.join(keys, 'id_missing');
    const error = await reject({ ...valid, identityFile: missing });
    expect(error.message).toContain(
      `option "identityFile": names a private key that cannot be read: the file ${missing} does not exist`,
    );
    expect(error.message).toContain(`ssh-keygen -t ed25519 -f ${missing}`);
    expect(error.message).not.toMatch(/refused|Permission denied/);
    mkdirSync(path.join(keys, 'dir'));
    expect((await reject({ ...valid, identityFile: path.join(keys, 'dir') })).message).toContain(
      'is a directory',
    );
    expect((await reject({ ...valid, configFile: missing })).message).toContain(
      `option "configFile": names an ssh_config that cannot be read: the file ${missing} does not exist`,
    );
    // ssh expands its own %-tokens and "none" reads no config: both are left to ssh.
    await validateOptions(sshProvider, { ...valid, identityFile: '~/.ssh/id_%h', configFile: 'none' });
    await validateOptions(sshProvider, { ...valid, identityFile: keyFile });
  });

  it('builds the documented command line', async () => {
    const options = await validateOptions(sshProvider, {
      ...valid,
      port: 2222,
      identityFile: keyFile,
      knownHostsFile: '/my hosts/kh',
      sshOptions: { ProxyJump: 'bastion' },
    });
    expect(sshArgs(options, { host: '10.0.0.5', port: 22 }, 40001)).toEqual([
      '-N',
      '-L',
      '127.0.0.1:40001:10.0.0.5:22',
      '-o',
      'ExitOnForwardFailure=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ServerAliveInterval=15',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      'ConnectTimeout=10',
      '-o',
      'IdentitiesOnly=yes',
      '-i',
      keyFile,
      '-o',
      'UserKnownHostsFile="/my hosts/kh"',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'ProxyJump=bastion',
      '-p',
      '2222',
      'me@jump.example.com',
    ]);
  });
});

describe('ssh output', () => {
  it('reads the version from `ssh -V`', () => {
    expect(parseSshVersion('OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024')).toBe('9.2p1');
    expect(parseSshVersion('usage: ssh')).toBeUndefined();
  });

  it('falls back to the last line for an unknown failure', () => {
    const why = explainSshFailure(['something odd happened\r'], {
      destination: 'me@h:22',
      host: 'h',
      port: 22,
      localPort: 1,
    });
    expect(why).toMatchObject({ kind: 'unknown', fatal: false });
    expect(why.message).toContain('something odd happened');
  });
});

describe('the README example', () => {
  it('validates as written', async () => {
    const options = await validateOptions(sshProvider, { host: 'jump.example.com', user: 'me' });
    expect(sshArgs(options, { host: '10.0.0.5', port: 22 }, 40001).slice(-3)).toEqual([
      '-p',
      '22',
      'me@jump.example.com',
    ]);
  });
});
