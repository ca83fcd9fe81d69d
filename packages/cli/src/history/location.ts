import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import envPaths from 'env-paths';

/** The file name history gets inside a state folder. */
export const HISTORY_FILE = 'history.sqlite';

/**
 * The state folder: `$TUNNELMUX_HOME/state`, else `$XDG_STATE_HOME/tunnelmux` (default ~/.local/state/tunnelmux
 * on Linux), else the platform's own (macOS: ~/Library/Application Support/tunnelmux).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TUNNELMUX_HOME) return path.join(path.resolve(env.TUNNELMUX_HOME), 'state');
  // env-paths reads XDG_STATE_HOME from process.env; honour the env we were given as well.
  if (env.XDG_STATE_HOME && process.platform !== 'darwin' && process.platform !== 'win32') {
    return path.join(env.XDG_STATE_HOME, 'tunnelmux');
  }
  const paths = envPaths('tunnelmux', { suffix: '' });
  // On Linux env-paths' `log` is the XDG state folder; elsewhere it is a logs folder, so keep data there.
  return process.platform === 'linux' ? paths.log : paths.data;
}

/**
 * The history file for a `state:` value (relative to `baseDir`): a folder gets history.sqlite inside; a name
 * ending in .sqlite, .sqlite3 or .db, or an existing file, is the file itself. No value: the default state folder.
 */
export function historyFile(
  state: string | undefined,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (state === undefined) return path.join(defaultStateDir(env), HISTORY_FILE);
  const resolved = path.resolve(baseDir, state);
  const isFile = /\.(sqlite3?|db)$/i.test(resolved) || (existsSync(resolved) && statSync(resolved).isFile());
  return isFile ? resolved : path.join(resolved, HISTORY_FILE);
}
