import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CliError } from '../util/errors';

/** `uid 1000 (alice)`, or `uid 1000` when the name cannot be found. */
export function describeOwner(uid: number): string {
  const name = userName(uid);
  return name ? `uid ${uid} (${name})` : `uid ${uid}`;
}

// Node has no getpwuid; /etc/passwd's fields are name:password:uid:… (a directory service may have others).
function userName(uid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id === String(uid)) return name;
    }
  } catch {
    // No passwd file (another OS, a minimal container): the uid alone will do.
  }
  return undefined;
}

/**
 * Why this user cannot reach `file`: the closest folder on its way that is closed to them, and whose it is.
 * Called after an EACCES, so something on the way is closed; `from` is where to start looking.
 */
export function permissionDenied(file: string, from = path.dirname(file), cause?: unknown): CliError {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const blocker = closedFolder(dir);
    if (blocker) {
      return new CliError(
        `[tunnelmux] permission denied: ${file} is inside ${dir}, which belongs to ${describeOwner(blocker.uid)} ` +
          'and is closed to other users; only that user may control this tunnelmux: run the command as that user, ' +
          'or start an instance of your own with `tunnelmux up`',
        1,
        { cause },
      );
    }
    if (path.dirname(dir) === dir) break;
  }
  let owner = '';
  try {
    owner = ` (it belongs to ${describeOwner(statSync(file).uid)})`;
  } catch {
    // Not even the socket can be looked at: say what is known.
  }
  return new CliError(
    `[tunnelmux] permission denied on the control socket ${file}${owner}; only the user who ran \`tunnelmux up\` ` +
      'may control it: run the command as that user, or start an instance of your own',
    1,
    { cause },
  );
}

// A folder this user can look at but not pass through.
function closedFolder(dir: string): { uid: number } | undefined {
  try {
    const stat = statSync(dir);
    try {
      accessSync(dir, constants.X_OK);
      return undefined;
    } catch {
      return { uid: stat.uid };
    }
  } catch {
    return undefined;
  }
}
