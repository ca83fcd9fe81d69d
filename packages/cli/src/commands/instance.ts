import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_NAMES } from '../config/find';
import { liveInstances } from '../control/instances';
import { socketDir } from '../control/socket-path';
import { CliError, usageError } from '../util/errors';

/** Options every command that talks to a running `up` takes. */
export interface ControlOptions {
  json?: boolean;
  socket?: string;
  name?: string;
  config?: string;
  /** How long to wait for the instance to answer, in milliseconds (`--timeout`). */
  timeout?: number;
}

/** Where to look: the environment (XDG_RUNTIME_DIR) and the folder relative paths start from. */
export interface Where {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * The control socket to talk to: `--socket`; else the instance `--name` or a config names (`--config`, or a
 * config in this folder; "default" when it has no `name:`); else, from a folder without a config, the only
 * instance of this user that is running. Several running, or none, is an error that says what to do.
 */
export async function resolveSocket(
  options: Omit<ControlOptions, 'json'>,
  where: Where = { env: process.env, cwd: process.cwd() },
): Promise<string> {
  if (options.socket) return path.resolve(where.cwd, options.socket);
  const dir = socketDir(where.env);
  const name = options.name ?? configName(options.config, where.cwd);
  if (name) {
    const file = path.join(dir, `${name}.sock`);
    if (existsSync(file)) return file;
    const others = await liveInstances(dir);
    if (others.length === 0) return file;
    throw new CliError(
      `[tunnelmux] no tunnelmux named "${name}" is running (no control socket at ${file}); running: ` +
        others.map((other) => `${other.name} (--name ${other.name})`).join(', '),
    );
  }
  const live = await liveInstances(dir);
  const [only] = live;
  if (only && live.length === 1) return only.file;
  if (live.length > 1) {
    throw usageError(
      `[tunnelmux] ${live.length} tunnelmux instances are running: ${live.map((i) => i.name).join(', ')}; ` +
        'name one with --name <name> (or --socket <file>)',
    );
  }
  throw new CliError(
    `[tunnelmux] no tunnelmux of yours is running: no live control socket in ${dir}; start one with \`tunnelmux up\``,
  );
}

/** The instance a config names: `--config`'s (else "default"), or that of a config in `cwd`, if there is one. */
function configName(explicit: string | undefined, cwd: string): string | undefined {
  const file = explicit
    ? path.resolve(cwd, explicit)
    : CONFIG_NAMES.map((name) => path.join(cwd, name)).find((candidate) => existsSync(candidate));
  if (!file) return undefined;
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw usageError(`[tunnelmux] config file ${file} does not exist or is not a file; check --config`);
  }
  // Only the name is needed; a cheap look avoids loading the YAML parser for every query.
  const match = /^\s*"?name"?\s*:\s*"?([A-Za-z0-9][A-Za-z0-9._-]{0,62})"?\s*,?\s*$/m.exec(
    readFileSync(file, 'utf8'),
  );
  return match?.[1] ?? 'default';
}
