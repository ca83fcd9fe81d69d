import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ephemeralBin,
  quoteWord,
  type ServiceSpec,
  serviceName,
  systemctlHints,
  systemdUnit,
  unitPath,
} from './systemd';

const spec: ServiceSpec = {
  name: 'devbox',
  node: process.execPath,
  bin: '/opt/tunnel mux/dist/bin.js',
  config: '/etc/tunnelmux/100%$HOME.yaml',
  user: false,
};
const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `systemd-analyze verify` on the file: exit 0 and not one warning. */
async function verify(unit: string, user: boolean) {
  const file = path.join(dir, `${serviceName(spec.name)}.service`);
  writeFileSync(file, unit);
  const run = path.join(dir, 'run');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  const result = await execa('systemd-analyze', [...(user ? ['--user'] : []), 'verify', file], {
    reject: false,
    timeout: 30_000,
    // A user manager needs a runtime folder; there is none in a container, so give it one.
    env: { XDG_RUNTIME_DIR: run },
  });
  return result;
}

describe('systemd units', () => {
  it('names the unit after the instance, default without a suffix', () => {
    expect(serviceName('default')).toBe('tunnelmux');
    expect(serviceName('devbox')).toBe('tunnelmux-devbox');
    expect(unitPath({ name: 'default', user: false })).toBe('/etc/systemd/system/tunnelmux.service');
    expect(unitPath({ name: 'x', user: true }, { HOME: '/home/u' })).toBe(
      '/home/u/.config/systemd/user/tunnelmux-x.service',
    );
    expect(unitPath({ name: 'x', user: true }, { HOME: '/home/u', XDG_CONFIG_HOME: '/cfg' })).toBe(
      '/cfg/systemd/user/tunnelmux-x.service',
    );
  });

  it('escapes % and $ and quotes words with spaces in ExecStart', () => {
    expect(quoteWord('/usr/bin/node')).toBe('/usr/bin/node');
    expect(quoteWord('/a b/c')).toBe('"/a b/c"');
    expect(quoteWord('100%$HOME')).toBe('100%%$$HOME');
    expect(quoteWord('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(quoteWord('')).toBe('""');
  });

  it('writes a sandboxed system unit that systemd-analyze verify accepts', async () => {
    const unit = systemdUnit(spec);
    expect(unit).toContain(
      `ExecStart=${process.execPath} "/opt/tunnel mux/dist/bin.js" up --config /etc/tunnelmux/100%%$$HOME.yaml\n`,
    );
    for (const line of [
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=read-only',
      'PrivateTmp=yes',
      'StateDirectory=tunnelmux',
      'RuntimeDirectory=tunnelmux',
      'WantedBy=multi-user.target',
    ]) {
      expect(unit).toContain(`\n${line}\n`);
    }
    const result = await verify(unit, false);
    expect({ code: result.exitCode, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('keeps a user unit to what a user manager can always apply', async () => {
    const unit = systemdUnit({ ...spec, user: true });
    expect(unit).toContain('\nNoNewPrivileges=yes\n');
    expect(unit).not.toMatch(/ProtectSystem|PrivateTmp|StateDirectory/);
    expect(unit).toContain('\nWantedBy=default.target\n');
    const result = await verify(unit, true);
    expect({ code: result.exitCode, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it("tells how to reach a system unit's control socket, which is not where a login shell looks", () => {
    expect(systemctlHints(spec)).toContain('sudo tunnelmux status --socket /run/tunnelmux/devbox.sock');
    expect(systemdUnit(spec)).toContain('\nEnvironment=XDG_STATE_HOME=%S XDG_RUNTIME_DIR=%t\n');
  });

  it('warns about a tunnelmux that npx or pnpm dlx will delete', () => {
    expect(ephemeralBin('/root/.npm/_npx/1a2b/node_modules/@tunnelmux/cli/dist/bin.js')).toMatch(/npx/);
    expect(ephemeralBin('/tmp/dlx-1234/node_modules/.bin/tunnelmux')).toMatch(/pnpm dlx/);
    expect(ephemeralBin('/usr/lib/node_modules/@tunnelmux/cli/dist/bin.js')).toBeUndefined();
  });

  it('is caught by systemd-analyze when a directive is wrong (the check can fail)', async () => {
    const result = await verify(systemdUnit(spec).replace('Restart=on-failure', 'Restart=sometimes'), false);
    expect(result.stderr).toMatch(/restart specifier/);
  });
});
