import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Reads "add PID" / "del PID" lines; when its stdin closes (our process died, even by SIGKILL), it ends every
// PID still listed (SIGTERM, then SIGKILL a second later) and runs the undo scripts left in its folder.
const SCRIPT = `trap '' INT HUP
dir="$1"
pids=" "
while IFS=' ' read -r op pid; do
  case "$op" in
    add) pids="$pids$pid " ;;
    del) pids=$(printf '%s' "$pids" | sed "s/ $pid / /") ;;
  esac
done
set -- $pids
if [ $# -gt 0 ]; then
  kill -TERM "$@" 2>/dev/null
  sleep 1
  kill -KILL "$@" 2>/dev/null
fi
for f in "$dir"/*.sh; do [ -f "$f" ] && sh "$f" >/dev/null 2>&1; done
rm -rf "$dir"
exit 0`;

/** What a reaper may be told about the machine; the defaults are this process's own. */
export interface ReaperOptions {
  /** No reaper runs on Windows (there is no POSIX shell to run it, nor process groups to end). */
  platform?: NodeJS.Platform;
  /** The POSIX shell that runs the reaper script. */
  shell?: string;
  /** Where the reaper's folder of undo scripts is made. */
  tmpdir?: string;
}

export interface Reaper {
  guardPid(pid: number): () => void;
  undoIfOrphaned(command: string, args: readonly string[], env?: Record<string, string>): () => void;
  /** At this process's exit: remove the folder of a reaper that died first (a live one removes its own). */
  cleanUp(): void;
}

// A child killed by a signal has no exit code, only a signal code.
const ended = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** A reaper, started on first use; this process has one (`guardPid`, `undoIfOrphaned`), tests make their own. */
export function createReaper(options: ReaperOptions = {}): Reaper {
  const windows = (options.platform ?? process.platform) === 'win32';
  let reaper: { child: ChildProcess; dir: string } | undefined;
  let undoCount = 0;

  function start(): { child: ChildProcess; dir: string } | undefined {
    if (reaper && !ended(reaper.child) && reaper.child.stdin?.writable) return reaper;
    try {
      const dir = mkdtempSync(path.join(options.tmpdir ?? os.tmpdir(), 'tunnelmux-reaper-'));
      const child = spawn(options.shell ?? '/bin/sh', ['-c', SCRIPT, 'tunnelmux-reaper', dir], {
        detached: true,
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      // The shell could not be started: nothing will ever run the undo scripts put in its folder.
      child.on('error', () => rmSync(dir, { recursive: true, force: true }));
      child.stdin?.on('error', () => undefined);
      // Neither the reaper nor its pipe may keep our event loop alive.
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      reaper = { child, dir };
      return reaper;
    } catch {
      return undefined;
    }
  }

  return {
    guardPid(pid) {
      if (windows) return () => undefined;
      start()?.child.stdin?.write(`add ${pid}\n`);
      return () => {
        if (reaper?.child.stdin?.writable) reaper.child.stdin.write(`del ${pid}\n`);
      };
    },
    undoIfOrphaned(command, args, env = {}) {
      const state = windows ? undefined : start();
      if (!state) return () => undefined;
      const file = path.join(state.dir, `undo-${process.pid}-${++undoCount}.sh`);
      // `env -i`: the undo sees only `env`, never the reaper's copy of tunnelmux's whole environment.
      const words = [...Object.entries(env).map(([key, value]) => `${key}=${value}`), command, ...args];
      writeFileSync(file, `exec env -i ${words.map(quote).join(' ')}\n`, { mode: 0o600 });
      return () => {
        try {
          unlinkSync(file);
        } catch {
          // Already run or removed.
        }
      };
    },
    cleanUp() {
      if (reaper && ended(reaper.child)) rmSync(reaper.dir, { recursive: true, force: true });
    },
  };
}

const shared = createReaper();

/**
 * Have `pid` killed if this process dies without stopping it (no orphaned tunnels, even after SIGKILL); a negative
 * `pid` names a whole process group.
 */
export function guardPid(pid: number): () => void {
  return shared.guardPid(pid);
}

/**
 * Run `command args` if this process dies before calling the returned function: the undo of a publication
 * that outlives its process (e.g. `tailscale serve --tcp=2222 off`). It runs with `env` as its whole environment.
 */
export function undoIfOrphaned(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): () => void {
  return shared.undoIfOrphaned(command, args, env);
}

// A clean exit with nothing registered leaves no folder behind; the reaper still handles what is registered.
process.once('exit', () => shared.cleanUp());
