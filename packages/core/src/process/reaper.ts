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

let reaper: { child: ChildProcess; dir: string } | undefined;

// A child killed by a signal has no exit code, only a signal code.
const ended = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
let undoCount = 0;

function start(): { child: ChildProcess; dir: string } | undefined {
  if (reaper && !ended(reaper.child) && reaper.child.stdin?.writable) return reaper;
  try {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-reaper-'));
    const child = spawn('/bin/sh', ['-c', SCRIPT, 'tunnelmux-reaper', dir], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => {
      reaper = undefined;
    });
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

/**
 * Have `pid` killed if this process dies without stopping it (no orphaned tunnels, even after SIGKILL); a negative
 * `pid` names a whole process group.
 */
export function guardPid(pid: number): () => void {
  if (process.platform === 'win32') return () => undefined;
  start()?.child.stdin?.write(`add ${pid}\n`);
  return () => {
    if (reaper?.child.stdin?.writable) reaper.child.stdin.write(`del ${pid}\n`);
  };
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Run `command args` if this process dies before calling the returned function: the undo of a publication
 * that outlives its process (e.g. `tailscale serve --tcp=2222 off`). It runs with `env` as its whole environment.
 */
export function undoIfOrphaned(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): () => void {
  const state = process.platform === 'win32' ? undefined : start();
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
}

process.once('exit', () => {
  // A clean exit with nothing registered leaves no folder behind; the reaper still handles what is registered.
  if (reaper && ended(reaper.child)) rmSync(reaper.dir, { recursive: true, force: true });
});
