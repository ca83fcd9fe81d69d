import { lstatSync, mkdirSync, realpathSync, type Stats, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError, usageError } from '../util/errors';
import { describeOwner } from './owner';

/** The folder of every instance's socket: `$XDG_RUNTIME_DIR/tunnelmux`, else `<tmp>/tunnelmux-<uid>`. */
export function socketDir(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  return runtime ? path.join(runtime, 'tunnelmux') : path.join(os.tmpdir(), `tunnelmux-${uid()}`);
}

/** `<socketDir>/<name>.sock`. */
export function socketPath(name = 'default', env: NodeJS.ProcessEnv = process.env): string {
  return path.join(socketDir(env), `${name}.sock`);
}

function uid(): number | string {
  return typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
}

const SYSTEM_TEMP = ['/tmp', '/var/tmp', '/dev/shm'];

/**
 * Make the socket's folder 0700 and refuse one that is shared, someone else's, or open to others. The advice
 * never touches a shared or foreign folder: it is the user's choice of folder that must change (exit code 2).
 */
export function ensurePrivateDir(dir: string): void {
  const shared = sharedFolder(dir);
  if (shared) {
    throw usageError(
      `[tunnelmux] the control socket cannot go directly in ${dir}: ${dir} is a shared folder ` +
        `(mode ${shared}, every user can create files there); choose a private folder for it, such as ` +
        `--socket ${path.join(dir, `tunnelmux-${uid()}`, 'default.sock')} (tunnelmux creates that folder with mode 700), ` +
        `or leave out --socket to use ${socketDir()}`,
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink()) {
    throw usageError(
      `[tunnelmux] the control folder ${dir} is a symbolic link (to ${realpathSync(dir)}); give the real folder, and make sure it is your own`,
    );
  }
  const me = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (me !== undefined && stat.uid !== me) {
    throw usageError(
      `[tunnelmux] the control folder ${dir} belongs to ${describeOwner(stat.uid)}, not to you (${describeOwner(me)}), ` +
        'so its owner could read or replace the socket; choose a private folder of your own with --socket, ' +
        'or set XDG_RUNTIME_DIR to one',
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    throw usageError(
      `[tunnelmux] the control folder ${dir} has mode ${mode(stat)}; it must be private (700): chmod 700 ${dir}`,
    );
  }
}

/** Refuse a socket that another user owns (it could be a trap) or that group/others could open. */
export function checkPrivateSocket(file: string, stat: Stats = lstatSync(file)): void {
  const me = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (me !== undefined && stat.uid !== me) {
    throw new CliError(
      `[tunnelmux] permission denied: the control socket ${file} belongs to ${describeOwner(stat.uid)}, not to you ` +
        `(${describeOwner(me)}); only the user who ran \`tunnelmux up\` may control it: run the command as that user, ` +
        'or start an instance of your own',
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new CliError(
      `[tunnelmux] the control socket ${file} has mode ${mode(stat)}; it must be private (600): chmod 600 ${file}`,
    );
  }
}

// The mode of a folder every user may write to (a system temp folder, or any world-writable sticky folder).
function sharedFolder(dir: string): string | undefined {
  let stat: Stats;
  let real: string;
  try {
    stat = statSync(dir);
    real = realpathSync(dir);
  } catch {
    return undefined;
  }
  const known = [...SYSTEM_TEMP, os.tmpdir(), process.env.TMPDIR].flatMap((candidate) => {
    try {
      return candidate ? [realpathSync(candidate)] : [];
    } catch {
      return [];
    }
  });
  const worldWritableSticky = (stat.mode & 0o1002) === 0o1002;
  // A TMPDIR that is already private to this user is simply a private folder.
  const privateToMe = (stat.mode & 0o077) === 0 && stat.uid === process.getuid?.();
  return worldWritableSticky || (known.includes(real) && !privateToMe) ? mode(stat) : undefined;
}

function mode(stat: Stats): string {
  return (stat.mode & 0o7777).toString(8);
}
