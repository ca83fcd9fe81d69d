import { type ChildProcess, spawn } from 'node:child_process';

// Reads "add PID" / "del PID" lines; when its stdin closes (our process died, even by SIGKILL), it ends every
// PID still listed: SIGTERM, then SIGKILL a second later.
const SCRIPT = `trap '' INT HUP
pids=" "
while IFS=' ' read -r op pid; do
  case "$op" in
    add) pids="$pids$pid " ;;
    del) pids=$(printf '%s' "$pids" | sed "s/ $pid / /") ;;
  esac
done
set -- $pids
[ $# -gt 0 ] || exit 0
kill -TERM "$@" 2>/dev/null
sleep 1
kill -KILL "$@" 2>/dev/null
exit 0`;

let reaper: ChildProcess | undefined;

function start(): ChildProcess | undefined {
  if (reaper && reaper.exitCode === null && reaper.stdin?.writable) return reaper;
  try {
    const child = spawn('/bin/sh', ['-c', SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => {
      reaper = undefined;
    });
    child.stdin?.on('error', () => undefined);
    // Neither the reaper nor its pipe may keep our event loop alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    reaper = child;
    return child;
  } catch {
    return undefined;
  }
}

/** Have `pid` killed if this process dies without stopping it (no orphaned tunnels, even after SIGKILL). */
export function guardPid(pid: number): () => void {
  if (process.platform === 'win32') return () => undefined;
  start()?.stdin?.write(`add ${pid}\n`);
  return () => {
    if (reaper?.stdin?.writable) reaper.stdin.write(`del ${pid}\n`);
  };
}
