import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import envPaths from 'env-paths';

/** The user plugin folder: `$TUNNELMUX_HOME/plugins`, else `<XDG data dir>/tunnelmux/plugins`. */
export function userPluginDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TUNNELMUX_HOME) return path.join(path.resolve(env.TUNNELMUX_HOME), 'plugins');
  // env-paths reads XDG_DATA_HOME from process.env; honour the env we were given as well.
  if (env.XDG_DATA_HOME && process.platform !== 'darwin' && process.platform !== 'win32') {
    return path.join(env.XDG_DATA_HOME, 'tunnelmux', 'plugins');
  }
  return path.join(envPaths('tunnelmux', { suffix: '' }).data, 'plugins');
}

/** The folder of the installed `@tunnelmux/cli` package, found from this file wherever it was bundled. */
export function cliRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if (JSON.parse(readFileSync(manifest, 'utf8')).name === '@tunnelmux/cli') return dir;
      } catch {
        // Not ours; keep climbing.
      }
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return path.dirname(path.dirname(fileURLToPath(import.meta.url)));
}

/** The node_modules folders beside the CLI: its own, and the one it is installed in. */
export function cliNodeModules(root = cliRoot()): string[] {
  const dirs = [path.join(root, 'node_modules')];
  const parent = path.dirname(root);
  const containing = path.basename(parent).startsWith('@') ? path.dirname(parent) : parent;
  if (path.basename(containing) === 'node_modules') dirs.push(containing);
  return dirs;
}

/** Where `up` reads the runtime dir for its control socket. */
export function homeDir(): string {
  return os.homedir();
}
