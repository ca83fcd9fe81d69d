import { randomBytes, timingSafeEqual } from 'node:crypto';
import { lstatSync, rmSync, writeFileSync } from 'node:fs';

/** A fresh random token: 32 bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compare without leaking, through timing, how much of a guess was right. */
export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Write the token to `file`, readable by this user only (0600). A file left by a crashed run is replaced; it is
 * created anew (never written through an existing file or link), so nobody can have it opened in advance.
 */
export function writeTokenFile(file: string, token: string): void {
  rmSync(file, { force: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  const mode = lstatSync(file).mode & 0o777;
  if (mode !== 0o600) {
    rmSync(file, { force: true });
    throw new Error(
      `[tunnelmux] the dashboard token file ${file} came out with mode ${mode.toString(8)}, not 600`,
    );
  }
}
