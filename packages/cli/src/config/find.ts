import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { usageError } from '../util/errors';

/** Config file names looked for in the working folder, in order. */
export const CONFIG_NAMES = ['tunnelmux.yaml', 'tunnelmux.yml', 'tunnelmux.json'];

/** Find the config file: `--config FILE`, else the first of CONFIG_NAMES in `cwd`. */
export function findConfig(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file)) throw usageError(`[tunnelmux] config file ${file} does not exist; check --config`);
    if (statSync(file).isDirectory()) {
      const inside = findConfigQuietly(file);
      throw usageError(
        `[tunnelmux] --config ${file} is a directory, not a config file; ` +
          (inside
            ? `pass the file itself: --config ${inside}`
            : `pass a file such as --config ${path.join(file, CONFIG_NAMES[0]!)}`),
      );
    }
    return file;
  }
  const found = findConfigQuietly(cwd);
  if (found) return found;
  throw usageError(
    `[tunnelmux] no config found: looked for ${CONFIG_NAMES.join(', ')} in ${cwd}; ` +
      'run `tunnelmux init` to write one, or pass --config FILE',
  );
}

/** The config file in `cwd`, if there is one. */
export function findConfigQuietly(cwd = process.cwd()): string | undefined {
  return CONFIG_NAMES.map((name) => path.join(cwd, name)).find((file) => existsSync(file));
}
