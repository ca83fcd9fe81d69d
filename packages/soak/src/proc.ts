import { readdirSync, readFileSync } from 'node:fs';

/** One process as /proc shows it; `start` (clock ticks since boot) tells a reused pid apart. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  start: number;
}

/** Every process on the machine, read from /proc (processes that vanish mid-read are skipped). */
export function allProcesses(): ProcEntry[] {
  const entries: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readStat(Number(name));
    if (entry) entries.push(entry);
  }
  return entries;
}

export function readStat(pid: number): ProcEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name sits in parentheses and may hold spaces: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), start: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

/** Every descendant of `roots` (children, grandchildren, ...). */
export function descendants(roots: readonly number[], processes = allProcesses()): ProcEntry[] {
  const children = new Map<number, ProcEntry[]>();
  for (const entry of processes) {
    const list = children.get(entry.ppid) ?? [];
    list.push(entry);
    children.set(entry.ppid, list);
  }
  const found: ProcEntry[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Whether this very process (same pid and start time) still exists, zombies included. */
export function stillThere(entry: ProcEntry): boolean {
  const now = readStat(entry.pid);
  return now !== undefined && now.start === entry.start;
}

/** Processes whose command line contains `text` (e.g. the run's private folder in a fault-file path). */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

/** Resident memory (bytes) and open file descriptors of `pid`, from /proc; undefined once it is gone. */
export function memoryAndFds(pid: number): { rssBytes: number; fds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return { rssBytes: Number(rss?.[1] ?? 0) * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}
