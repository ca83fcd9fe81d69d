import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../testing/process-state';
import { createReaper } from './reaper';

// The source itself, run by Node's type stripping (reaper.ts imports only node: modules): a change to it is
// tested without a build, so a stale dist/ cannot hide it.
const REAPER = new URL('./reaper.ts', import.meta.url).pathname;

// Every process these tests start ends by itself after this long, even when the test run is killed before its
// clean-up (as a mutation run's timeout does); the reaper's work takes a few seconds.
const LIFETIME_MS = 120_000;

let dir: string;
const spawned: number[] = [];
afterEach(() => {
  for (const pid of spawned.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone, as it should be.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Start an owner process (in a process group of its own when `ownGroup`) that spawns one tunnel stand-in per name, each ignoring SIGTERM (it notes it in
 * `<name>.term`), guards them all with the reaper, withdraws the guard of those in `withdrawn`, registers an
 * undo that writes `undone` and one it withdraws (would write `kept`); resolves with the stand-ins' pids.
 */
async function startOwner(names: string[], withdrawn: string[] = [], ownGroup = false) {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-reaper-test-'));
  const stubborn = (name: string) =>
    `process.on('SIGTERM', () => require('node:fs').appendFileSync(${JSON.stringify(path.join(dir, `${name}.term`))}, 'TERM\\n'));` +
    `console.log('up'); setTimeout(() => {}, ${LIFETIME_MS});`;
  const script = `
    const { guardPid, undoIfOrphaned } = await import(${JSON.stringify(REAPER)});
    const { spawn } = await import('node:child_process');
    const { once } = await import('node:events');
    const codes = ${JSON.stringify(Object.fromEntries(names.map((name) => [name, stubborn(name)])))};
    const pids = {};
    for (const [name, code] of Object.entries(codes)) {
      const child = spawn(process.execPath, ['-e', code], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
      await once(child.stdout, 'data');
      child.stdout.destroy();
      child.unref();
      const unguard = guardPid(child.pid);
      if (${JSON.stringify(withdrawn)}.includes(name)) unguard();
      pids[name] = child.pid;
    }
    undoIfOrphaned('/bin/sh', ['-c', 'echo withdrawn > "$OUT/kept"'], { OUT: ${JSON.stringify(dir)} })();
    undoIfOrphaned('/bin/sh', ['-c', 'echo withdrawn > "$OUT/undone"'], { OUT: ${JSON.stringify(dir)} });
    console.log(JSON.stringify(pids));
    setTimeout(() => {}, ${LIFETIME_MS});`;
  const owner = execa(process.execPath, ['--input-type=module', '-e', script], {
    reject: false,
    buffer: false,
    stderr: 'inherit',
    // Its own process group, so a test can kill the group as a terminal's Ctrl-C or a service manager does.
    detached: ownGroup,
  });
  const pids = await new Promise<Record<string, number>>((resolve, reject) => {
    owner.stdout?.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString())));
    owner.nodeChildProcess.once('exit', () =>
      reject(new Error('the owner exited before starting its tunnels')),
    );
  });
  spawned.push(...Object.values(pids));
  return { owner, pids };
}

describe('the reaper, when its owner is SIGKILLed', () => {
  it('asks a tunnel to stop with SIGTERM, then kills it with SIGKILL when it ignores that', async () => {
    const { owner, pids } = await startOwner(['stubborn']);
    const pid = pids.stubborn!;
    expect(await isAlive(pid)).toBe(true);
    owner.kill('SIGKILL');
    await owner;
    // Generous: the reaper waits one second between the two signals.
    await expect.poll(() => isAlive(pid), { timeout: 10_000, interval: 100 }).toBe(false);
    expect(readFileSync(path.join(dir, 'stubborn.term'), 'utf8')).toBe('TERM\n');
  });

  it('runs a registered undo, not a withdrawn one, and spares a pid whose guard was withdrawn', async () => {
    const { owner, pids } = await startOwner(['guarded', 'released'], ['released']);
    owner.kill('SIGKILL');
    await owner;
    // Undos run after the kills, so once one has run the reaper is done with the pids.
    await expect
      .poll(() => existsSync(path.join(dir, 'undone')), { timeout: 10_000, interval: 100 })
      .toBe(true);
    expect(readFileSync(path.join(dir, 'undone'), 'utf8')).toBe('withdrawn\n');
    expect(existsSync(path.join(dir, 'kept'))).toBe(false);
    expect(await isAlive(pids.guarded!)).toBe(false);
    // A withdrawn pid may belong to someone else by now (reused): it must not even get a SIGTERM.
    expect(await isAlive(pids.released!)).toBe(true);
    expect(existsSync(path.join(dir, 'released.term'))).toBe(false);
  });
});

describe('the reaper, when its owner goes another way', () => {
  it("outlives a SIGKILL of its owner's whole process group, and still ends the tunnels", async () => {
    const { owner, pids } = await startOwner(['grouped'], [], true);
    process.kill(-owner.pid!, 'SIGKILL');
    await owner;
    await expect.poll(() => isAlive(pids.grouped!), { timeout: 10_000, interval: 100 }).toBe(false);
  });

  it('lets its owner exit on its own, then runs an undo the owner left registered, quotes and all', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-reaper-test-'));
    // Registers an undo and returns: only the reaper could keep this process alive, and it must not.
    const script = `
      const { undoIfOrphaned } = await import(${JSON.stringify(REAPER)});
      undoIfOrphaned('/bin/sh', ['-c', 'printf "%s" "$1" > "$OUT/undone"', 'undo', "it's 'quoted'"], { OUT: ${JSON.stringify(dir)} });`;
    const owner = await execa(process.execPath, ['--input-type=module', '-e', script], {
      reject: false,
      timeout: 10_000,
    });
    expect(owner.timedOut).toBe(false);
    expect(owner.exitCode).toBe(0);
    // A normal exit without withdrawing the undo is an orphaned publication too: the undo still runs.
    await expect
      .poll(() => existsSync(path.join(dir, 'undone')), { timeout: 10_000, interval: 100 })
      .toBe(true);
    await expect.poll(() => readFileSync(path.join(dir, 'undone'), 'utf8')).toBe("it's 'quoted'");
  });
  it('starts a new reaper when the first one died, so a pid guarded later is still ended', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-reaper-test-'));
    const script = `
      const { guardPid } = await import(${JSON.stringify(REAPER)});
      const { spawn } = await import('node:child_process');
      const { existsSync, readdirSync, readFileSync } = await import('node:fs');
      const { setTimeout: wait } = await import('node:timers/promises');
      const tunnel = () => {
        const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, ${LIFETIME_MS})'], { detached: true, stdio: 'ignore' });
        child.unref();
        return child.pid;
      };
      const first = tunnel();
      guardPid(first);
      // The reaper: our child running the reaper script.
      const reaperPid = readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p)).find((p) => {
        try {
          return readFileSync('/proc/' + p + '/stat', 'utf8').split(') ')[1].split(' ')[1] === String(process.pid)
            && readFileSync('/proc/' + p + '/cmdline', 'utf8').includes('tunnelmux-reaper');
        } catch { return false; }
      });
      process.kill(Number(reaperPid), 'SIGKILL');
      while (existsSync('/proc/' + reaperPid)) await wait(20);
      await wait(0);
      const second = tunnel();
      guardPid(second);
      console.log(JSON.stringify({ first, second }));
      setTimeout(() => {}, ${LIFETIME_MS});`;
    const owner = execa(process.execPath, ['--input-type=module', '-e', script], {
      reject: false,
      buffer: false,
      stderr: 'inherit',
    });
    const pids = await new Promise<{ first: number; second: number }>((resolve, reject) => {
      owner.stdout?.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString())));
      owner.nodeChildProcess.once('exit', () =>
        reject(new Error('the owner exited before starting its tunnels')),
      );
    });
    spawned.push(pids.first, pids.second);
    owner.kill('SIGKILL');
    await owner;
    await expect.poll(() => isAlive(pids.second), { timeout: 10_000, interval: 100 }).toBe(false);
  });
  it("keeps undo scripts private, and removes a dead reaper's folder when its owner exits", async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-reaper-test-'));
    const script = `
      const { undoIfOrphaned } = await import(${JSON.stringify(REAPER)});
      const { existsSync, readdirSync, readFileSync, statSync } = await import('node:fs');
      const { setTimeout: wait } = await import('node:timers/promises');
      undoIfOrphaned('/bin/true', []);
      const reaperPid = readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p)).find((p) => {
        try {
          return readFileSync('/proc/' + p + '/stat', 'utf8').split(') ')[1].split(' ')[1] === String(process.pid);
        } catch { return false; }
      });
      // The reaper's last argument is its folder.
      const folder = readFileSync('/proc/' + reaperPid + '/cmdline', 'utf8').split('\\0').filter(Boolean).at(-1);
      const modes = readdirSync(folder).map((name) => (statSync(folder + '/' + name).mode & 0o777).toString(8));
      process.kill(Number(reaperPid), 'SIGKILL');
      while (existsSync('/proc/' + reaperPid)) await wait(20);
      await wait(0);
      console.log(JSON.stringify({ folder, modes }));`;
    const owner = await execa(process.execPath, ['--input-type=module', '-e', script], {
      reject: false,
      timeout: 10_000,
    });
    expect(owner.exitCode).toBe(0);
    const { folder, modes } = JSON.parse(owner.stdout) as { folder: string; modes: string[] };
    expect(modes).toEqual(['600']);
    // Killed before it could clean up after itself: the owner's exit handler removes the folder instead.
    expect(existsSync(folder)).toBe(false);
  });
});

// Above any Linux pid_max (2^22): a reaper told to end it ends nothing, even if a mutant lets it loose.
const NO_SUCH_PID = 4_194_305;

/** This process's live reapers whose folder is under `tmp`, from /proc: pid and argv. */
function reapersIn(tmp: string): { pid: number; argv: string[] }[] {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').slice(0, -1);
      if (Number(ppid) === process.pid && state !== 'Z' && argv.at(-1)?.startsWith(`${tmp}/`))
        found.push({ pid: Number(entry), argv });
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** Block until `pid` is a zombie: dead, and not yet noticed by Node, which waits for it only between ticks. */
function waitForZombie(pid: number): void {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return;
    if (Date.now() > deadline) throw new Error(`${pid} did not die within 10 s of SIGKILL`);
  }
}

describe('a reaper of its own (createReaper), in this process', () => {
  let tmp: string;
  afterEach(() => {
    for (const { pid } of reapersIn(tmp)) process.kill(pid, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });
  const makeTmp = () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-reaper-own-'));
    return tmp;
  };

  it('is a process named tunnelmux-reaper, run by /bin/sh, with its folder named for it in tmpdir', async () => {
    const reaper = createReaper({ tmpdir: makeTmp() });
    reaper.undoIfOrphaned('/bin/true', [])();
    const [found, ...others] = reapersIn(tmp);
    expect(others).toEqual([]);
    // `ps` and the shell's own messages show $0.
    expect(found?.argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(found?.argv[3]).toBe('tunnelmux-reaper');
    expect(readdirSync(tmp)).toEqual([expect.stringMatching(/^tunnelmux-reaper-\w{6}$/)]);
    expect(found?.argv[4]).toBe(path.join(tmp, readdirSync(tmp)[0]!));
    // Killed before it could clean up after itself: the exit clean-up removes its folder once Node saw it die.
    process.kill(found!.pid, 'SIGKILL');
    await expect
      .poll(() => {
        reaper.cleanUp();
        return readdirSync(tmp);
      })
      .toEqual([]);
  });

  it("leaves a live reaper's folder alone at clean-up: the reaper still needs it", () => {
    const reaper = createReaper({ tmpdir: makeTmp() });
    reaper.undoIfOrphaned('/bin/true', []);
    reaper.cleanUp();
    expect(readdirSync(tmp)).toHaveLength(1);
    expect(readdirSync(path.join(tmp, readdirSync(tmp)[0]!))).toHaveLength(1);
  });

  it('does nothing on Windows, and its guards and undos are no-ops', () => {
    const reaper = createReaper({ platform: 'win32', tmpdir: makeTmp() });
    const unguard = reaper.guardPid(NO_SUCH_PID);
    const withdraw = reaper.undoIfOrphaned('/bin/true', []);
    unguard();
    withdraw();
    expect(readdirSync(tmp)).toEqual([]);
    expect(reapersIn(tmp)).toEqual([]);
  });

  it('when it cannot make its folder, guards and undos are no-ops that throw nothing', () => {
    const reaper = createReaper({ tmpdir: path.join(makeTmp(), 'missing') });
    const unguard = reaper.guardPid(NO_SUCH_PID);
    const withdraw = reaper.undoIfOrphaned('/bin/true', []);
    unguard();
    withdraw();
    reaper.cleanUp();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('when its shell cannot be started, removes the folder at once and throws nothing, then or at exit', async () => {
    const reaper = createReaper({ shell: path.join(makeTmp(), 'no-such-sh'), tmpdir: tmp });
    const unguard = reaper.guardPid(NO_SUCH_PID);
    reaper.undoIfOrphaned('/bin/true', []);
    // Each call tried a reaper of its own (a failed spawn's pipe stops being writable at the first write).
    expect(readdirSync(tmp)).toHaveLength(2);
    // Nothing would ever run the undo scripts in it; each failed start must not leave one more folder behind.
    await expect.poll(() => readdirSync(tmp)).toEqual([]);
    unguard();
    reaper.cleanUp();
    const again = reaper.guardPid(NO_SUCH_PID);
    expect(readdirSync(tmp)).toHaveLength(1);
    await expect.poll(() => readdirSync(tmp)).toEqual([]);
    again();
  });

  it('when its shell exits at once, starts anew on the next guard, and removes the folder at exit', async () => {
    // A "shell" that exits 1 whatever it is asked: the reaper ends by an exit code, not a signal.
    const shell = path.join(makeTmp(), 'broken-sh');
    writeFileSync(shell, '#!/bin/sh\nexit 1\n');
    chmodSync(shell, 0o700);
    const reaper = createReaper({ shell, tmpdir: tmp });
    reaper.guardPid(NO_SUCH_PID);
    const folders = () => readdirSync(tmp).filter((name) => name.startsWith('tunnelmux-reaper-'));
    expect(folders()).toHaveLength(1);
    await expect
      .poll(() => {
        reaper.cleanUp();
        return folders();
      })
      .toEqual([]);
    reaper.guardPid(NO_SUCH_PID);
    expect(folders()).toHaveLength(1);
  });

  it('writes quietly to a reaper that died unnoticed, then starts a new one once Node saw it die', async () => {
    const reaper = createReaper({ tmpdir: makeTmp() });
    reaper.guardPid(NO_SUCH_PID);
    const [first] = reapersIn(tmp);
    process.kill(first!.pid, 'SIGKILL');
    // No tick between the death and these writes: Node still takes the reaper for alive, and each write hits
    // a pipe nobody reads (EPIPE), which must not become an uncaught error.
    waitForZombie(first!.pid);
    reaper.guardPid(NO_SUCH_PID + 1)();
    await expect
      .poll(() => {
        reaper.guardPid(NO_SUCH_PID + 2);
        return reapersIn(tmp).map(({ pid }) => pid);
      })
      .toEqual([expect.any(Number)]);
    expect(reapersIn(tmp)[0]?.pid).not.toBe(first!.pid);
  });
});
