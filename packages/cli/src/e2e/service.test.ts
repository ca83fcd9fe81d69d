import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'plist';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, localConfig, testdir } from './harness';

describe('tunnelmux service', () => {
  let work: ReturnType<typeof testdir>;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]) => cli(args, { cwd: work.dir, env });
  const unit = () => path.join(work.dir, 'xdg', 'systemd', 'user', 'tunnelmux-t.service');

  beforeAll(() => {
    work = testdir({
      'cfg dir/tunnelmux.yaml': localConfig({ host: '127.0.0.1', port: 22 }, ['a']),
      // Stands in for systemctl: answers is-active and is-enabled as the real one does for a running unit.
      'bin/systemctl':
        '#!/bin/sh\ncase "$*" in *is-active*) echo active;; *is-enabled*) echo enabled;; esac\n',
    });
    chmodSync(path.join(work.dir, 'bin/systemctl'), 0o755);
    mkdirSync(path.join(work.dir, 'home'), { recursive: true });
    env = {
      ...work.env,
      HOME: path.join(work.dir, 'home'),
      XDG_CONFIG_HOME: path.join(work.dir, 'xdg'),
      TUNNELMUX_SYSTEMCTL: path.join(work.dir, 'bin/systemctl'),
    };
  });
  afterAll(() => work?.cleanup());

  it('install --user writes a unit that runs up with absolute paths and systemd-analyze verify accepts', async () => {
    const result = await run('service', 'install', '--user', '--config', 'cfg dir/tunnelmux.yaml', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout);
    const config = path.join(work.dir, 'cfg dir', 'tunnelmux.yaml');
    expect(answer).toMatchObject({
      action: 'install',
      kind: 'systemd',
      scope: 'user',
      name: 't',
      unit: 'tunnelmux-t.service',
      file: unit(),
      written: true,
      command: [process.execPath, BIN, 'up', '--config', config],
    });
    expect(answer.commands).toContain('systemctl --user enable --now tunnelmux-t.service');
    const text = readFileSync(unit(), 'utf8');
    expect(text).toContain(`\nExecStart=${process.execPath} ${BIN} up --config "${config}"\n`);
    expect(text).toContain('\nRestart=on-failure\n');
    mkdirSync(path.join(work.dir, 'sd-run'), { recursive: true, mode: 0o700 });
    const verify = await execa('systemd-analyze', ['--user', 'verify', unit()], {
      reject: false,
      timeout: 30_000,
      env: { XDG_RUNTIME_DIR: path.join(work.dir, 'sd-run') },
    });
    expect({ code: verify.exitCode, stderr: verify.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('leaves an identical unit alone and refuses to overwrite a different one without --force', async () => {
    const again = await run('service', 'install', '--user', '--config', 'cfg dir/tunnelmux.yaml', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ written: false, unchanged: true });
    writeFileSync(unit(), `${readFileSync(unit(), 'utf8')}# edited by hand\n`);
    const refused = await run('service', 'install', '--user', '--config', 'cfg dir/tunnelmux.yaml');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/already exists with different content.*--force/);
    expect(readFileSync(unit(), 'utf8')).toContain('# edited by hand');
    const forced = await run('service', 'install', '--user', '--config', 'cfg dir/tunnelmux.yaml', '--force');
    expect(forced.exitCode).toBe(0);
    expect(forced.stdout).toMatch(
      /wrote .*tunnelmux-t\.service[\s\S]*systemctl --user enable --now tunnelmux-t\.service/,
    );
    expect(readFileSync(unit(), 'utf8')).not.toContain('# edited by hand');
  });

  it('--print shows the unit and writes nothing', async () => {
    const printed = await run(
      'service',
      'install',
      '--user',
      '--print',
      '--config',
      'cfg dir/tunnelmux.yaml',
      '--name',
      'other',
    );
    expect(printed.exitCode).toBe(0);
    expect(printed.stdout).toMatch(/^# Written by `tunnelmux service install`/);
    expect(printed.stdout).toContain(' --name other\n');
    expect(existsSync(path.join(work.dir, 'xdg', 'systemd', 'user', 'tunnelmux-other.service'))).toBe(false);
  });

  it('status reports the unit installed and what systemctl says of it', async () => {
    const result = await run('service', 'status', '--user', '--config', 'cfg dir/tunnelmux.yaml', '--json');
    expect(JSON.parse(result.stdout)).toMatchObject({
      installed: true,
      unit: 'tunnelmux-t.service',
      active: 'active',
      enabled: 'enabled',
    });
  });

  it('uninstall removes it, and status then says so', async () => {
    const removed = await run('service', 'uninstall', '--user', '--name', 't', '--json');
    expect(removed.exitCode).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ removed: true, file: unit() });
    expect(existsSync(unit())).toBe(false);
    const status = await run('service', 'status', '--user', '--name', 't', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ installed: false });
  });

  it('refuses to remove a unit tunnelmux did not write', async () => {
    mkdirSync(path.dirname(unit()), { recursive: true });
    writeFileSync(unit(), '[Service]\nExecStart=/bin/true\n');
    const refused = await run('service', 'uninstall', '--user', '--name', 't');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/not written by `tunnelmux service install`/);
    expect(existsSync(unit())).toBe(true);
  });

  it('refuses a config that does not load, before writing anything', async () => {
    writeFileSync(path.join(work.dir, 'bad.yaml'), 'paths: nope\n');
    const result = await run('service', 'install', '--user', '--config', 'bad.yaml', '--name', 'bad');
    expect(result.exitCode).toBe(2);
    expect(existsSync(path.join(work.dir, 'xdg', 'systemd', 'user', 'tunnelmux-bad.service'))).toBe(false);
  });

  it('writes a LaunchAgent plist on macOS', async () => {
    const result = await run(
      'service',
      'install',
      '--user',
      '--platform',
      'darwin',
      '--config',
      'cfg dir/tunnelmux.yaml',
      '--json',
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const file = path.join(work.dir, 'home', 'Library', 'LaunchAgents', 'dev.tunnelmux.t.plist');
    expect(JSON.parse(result.stdout)).toMatchObject({ kind: 'launchd', file });
    const job = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(job.ProgramArguments).toEqual([
      process.execPath,
      BIN,
      'up',
      '--config',
      path.join(work.dir, 'cfg dir', 'tunnelmux.yaml'),
    ]);
    const removed = await run('service', 'uninstall', '--user', '--platform', 'darwin', '--name', 't');
    expect(removed.exitCode).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
});
