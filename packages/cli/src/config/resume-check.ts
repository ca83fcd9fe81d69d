import path from 'node:path';
import { messageOf } from '../util/errors';
import type { LoadedConfig } from './load';
import type { Finding } from './preflight';

/**
 * The `resume.keyFile` as `up` will read it (exists, mode 0600, one key line): doctor reports what `up` would
 * refuse, with the fix. Never quotes the key.
 */
export async function resumeFindings(loaded: LoadedConfig): Promise<Finding[]> {
  const resume = loaded.config.resume;
  if (!resume) return [];
  const { readSessionKeyFile } = await import('@tunnelmux/core/session');
  try {
    await readSessionKeyFile(path.resolve(loaded.dir, resume.keyFile));
    return [];
  } catch (error) {
    const message = messageOf(error).replace(/^\[tunnelmux\] /, '');
    const fix = message.match(/fix it with: (chmod 600 .+)$/)?.[1];
    return [
      {
        check: 'resume',
        detail: `${loaded.locate(['resume', 'keyFile'])}: ${message}`,
        fix: fix ?? 'point resume.keyFile at the key the relay uses (tunnelmux keygen <file> writes one)',
      },
    ];
  }
}
