import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_NAMES } from '../config/find';
import { socketPath } from '../control/socket-path';

/** The instance name: `--name`, else the config's `name:`, else "default". */
export function instanceName(options: { name?: string; config?: string }): string {
  if (options.name) return options.name;
  const file = options.config
    ? path.resolve(options.config)
    : CONFIG_NAMES.map((name) => path.resolve(name)).find((candidate) => existsSync(candidate));
  if (file && existsSync(file)) {
    // Only the name is needed; a cheap look avoids loading the YAML parser for every query.
    const match = /^\s*"?name"?\s*:\s*"?([A-Za-z0-9][A-Za-z0-9._-]{0,62})"?\s*,?\s*$/m.exec(
      readFileSync(file, 'utf8'),
    );
    if (match?.[1]) return match[1];
  }
  return 'default';
}

/** The control socket: `--socket`, else the one for the instance name. */
export function resolveSocket(options: { socket?: string; name?: string; config?: string }): string {
  return options.socket ? path.resolve(options.socket) : socketPath(instanceName(options));
}
