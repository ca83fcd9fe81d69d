import path from 'node:path';
import { writeSessionKeyFile } from '@tunnelmux/core/session';
import { printJson } from '../util/output';

/** `tunnelmux keygen <file>`: a new random session key, mode 0600, never printed. */
export async function keygen(file: string, options: { json?: boolean }): Promise<void> {
  await writeSessionKeyFile(file);
  const absolute = path.resolve(file);
  if (options.json) {
    printJson({ file: absolute, mode: '0600' });
  } else {
    process.stdout.write(
      `wrote a new session key to ${absolute} (mode 0600)\n` +
        'copy it to the other end over a channel you trust (e.g. scp), then point `tunnelmux relay --key-file` and `resume: { keyFile }` at it\n',
    );
  }
}
