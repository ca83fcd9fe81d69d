import { randomBytes } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { ConfigError } from '../errors';
import { KEY_BYTES } from './limits';

const KEY_LINE = /^[0-9a-f]{64}$/;

/** A new random shared key. */
export function generateSessionKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** The key file's text: one line of 64 hex digits. */
export function formatSessionKey(key: Buffer): string {
  return `${key.toString('hex')}\n`;
}

/** Write a new key to `file` with mode 0600; refuses to replace an existing file. */
export async function writeSessionKeyFile(file: string, key = generateSessionKey()): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError(
        `key file ${file} already exists; refusing to overwrite it (remove it first to rotate the key)`,
        {
          cause: error,
          code: 'ERR_KEY_FILE_EXISTS',
        },
      );
    }
    throw new ConfigError(`cannot create key file ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    await handle.writeFile(formatSessionKey(key));
  } finally {
    await handle.close();
  }
}

/**
 * Read a shared key: the file must be readable by its owner only (no group/other bits), and hold one
 * line of 64 hex digits. Errors never quote the file's content.
 */
export async function readSessionKeyFile(file: string): Promise<Buffer> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (error) {
    throw new ConfigError(
      `cannot read key file ${file}: ${(error as Error).message}; create one with \`tunnelmux keygen ${file}\``,
      {
        cause: error,
        code: 'ERR_KEY_FILE',
      },
    );
  }
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new ConfigError(
      `key file ${file} is readable by others (mode ${(info.mode & 0o777).toString(8).padStart(3, '0')}); fix it with: chmod 600 ${file}`,
      { code: 'ERR_KEY_FILE_MODE' },
    );
  }
  const text = (await readFile(file, 'utf8')).trim().toLowerCase();
  if (!KEY_LINE.test(text)) {
    throw new ConfigError(
      `key file ${file} does not hold a tunnelmux session key (one line of 64 hex digits); make one with \`tunnelmux keygen <file>\``,
      { code: 'ERR_KEY_FILE' },
    );
  }
  return Buffer.from(text, 'hex');
}
