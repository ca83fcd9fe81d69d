import { lstatSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from '../util/errors';

/** `$XDG_RUNTIME_DIR/tunnelmux/<name>.sock`, else `<tmp>/tunnelmux-<uid>/<name>.sock`. */
export function socketPath(name = 'default', env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  const dir = runtime ? path.join(runtime, 'tunnelmux') : path.join(os.tmpdir(), `tunnelmux-${uid()}`);
  return path.join(dir, `${name}.sock`);
}

function uid(): number | string {
  return typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
}

/** Make the socket's folder 0700 and refuse one that someone else owns or others can write. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkPrivate(dir, 'folder');
}

/** Refuse a socket or folder owned by another user, or open to group/others (someone could sit in the middle). */
export function checkPrivate(file: string, what: 'folder' | 'socket'): void {
  const stat = lstatSync(file);
  const me = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (me !== undefined && stat.uid !== me) {
    throw new CliError(
      `[tunnelmux] the control ${what} ${file} belongs to uid ${stat.uid}, not to you (uid ${me}); ` +
        'remove it or pick another with --socket',
    );
  }
  const open = what === 'folder' ? stat.mode & 0o077 : stat.mode & 0o077;
  if (open !== 0) {
    throw new CliError(
      `[tunnelmux] the control ${what} ${file} has mode ${(stat.mode & 0o777).toString(8)}; ` +
        `it must be private (${what === 'folder' ? '700' : '600'}): chmod ${what === 'folder' ? '700' : '600'} ${file}`,
    );
  }
}
