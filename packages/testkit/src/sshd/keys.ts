import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** An ed25519 key pair on disk, made by `ssh-keygen`. */
export interface KeyPair {
  /** The private key file (mode 0600), what `ssh -i` takes. */
  privateKey: string;
  /** `ssh-ed25519 AAAA... comment`, one line. */
  publicKey: string;
}

/** Make an ed25519 key pair without a passphrase at `file` (and `file.pub`). */
export async function generateKey(file: string, comment = 'tunnelmux-test'): Promise<KeyPair> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { timeout: 20_000 });
  const publicKey = (await readFile(`${file}.pub`, 'utf8')).trim();
  return { privateKey: file, publicKey };
}

/** The `known_hosts` name ssh looks up: `host` for port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** One `known_hosts` line binding `host:port` to a public key (its comment dropped). */
export function knownHostsLine(host: string, port: number, publicKey: string): string {
  const [type, blob] = publicKey.trim().split(/\s+/);
  if (!type || !blob)
    throw new Error(`[tunnelmux] [testkit] not an OpenSSH public key: ${JSON.stringify(publicKey)}`);
  return `${knownHostName(host, port)} ${type} ${blob}`;
}
