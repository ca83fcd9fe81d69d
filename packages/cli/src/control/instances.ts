import { lstatSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CliError } from '../util/errors';
import { permissionDenied } from './owner';

/** A running instance of this user, known by its control socket. */
export interface Instance {
  name: string;
  file: string;
}

// Long enough for a loaded machine, short enough that a hung instance cannot stall every command.
const PROBE_MS = 2000;

/** The instances whose sockets in `dir` answer, by name; stale sockets (a crashed `up`) are left out. */
export async function liveInstances(dir: string): Promise<Instance[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    if (code === 'EACCES') throw permissionDenied(path.join(dir, '*.sock'), dir, error);
    throw new CliError(`[tunnelmux] cannot list control sockets in ${dir}: ${(error as Error).message}`, 1, {
      cause: error,
    });
  }
  const me = process.getuid?.();
  const sockets = names
    .filter((name) => name.endsWith('.sock'))
    .map((name) => ({ name: name.slice(0, -'.sock'.length), file: path.join(dir, name) }))
    .filter(({ file }) => {
      try {
        const stat = lstatSync(file);
        return stat.isSocket() && (me === undefined || stat.uid === me);
      } catch {
        return false;
      }
    });
  const answering = await Promise.all(sockets.map(({ file }) => answers(file)));
  return sockets.filter((_, index) => answering[index]).sort((a, b) => a.name.localeCompare(b.name));
}

/** True when something accepts a connection on `file` within a bound. */
function answers(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(file);
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.setTimeout(PROBE_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
