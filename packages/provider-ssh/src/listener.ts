import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * Whether the TCP listener on 127.0.0.1:`port` belongs to process `pid`: true, false, or undefined when the
 * system cannot tell (not Linux, /proc unreadable). It keeps a port squatter from passing for ssh's forward.
 */
export async function listenerBelongsTo(pid: number, port: number): Promise<boolean | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    const table = await readFile('/proc/net/tcp', 'utf8');
    const wanted = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    const inodes = new Set<string>();
    for (const row of table.split('\n').slice(1)) {
      const fields = row.trim().split(/\s+/);
      // fields: sl local rem st tx:rx tr:when retrnsmt uid timeout inode
      if (fields[1] === wanted && fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
    }
    if (inodes.size === 0) return false;
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode && inodes.has(inode)) return true;
    }
    return false;
  } catch {
    return undefined;
  }
}
