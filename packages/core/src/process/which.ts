import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The executable `command` resolves to on `PATH` (or `bin` itself when given), or undefined. */
export async function which(
  command: string,
  env: NodeJS.ProcessEnv,
  bin?: string,
): Promise<string | undefined> {
  if (bin) return (await isExecutable(bin)) ? path.resolve(bin) : undefined;
  if (command.includes('/')) return (await isExecutable(command)) ? path.resolve(command) : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}
