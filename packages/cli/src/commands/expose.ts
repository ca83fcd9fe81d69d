import { usageError } from '../util/errors';
import type { UpOptions } from './up';

export interface ExposeOptions extends Omit<UpOptions, 'expose' | 'listen'> {
  via?: string;
  host?: string;
  /** Run a relay in front of the port and publish it (needs `keyFile`). */
  resume?: boolean;
  keyFile?: string;
}

const PROVIDER_ID = /^[a-z][a-z0-9-]{0,39}$/;

/** `tunnelmux expose <port> --via cloudflare,ngrok,tailscale`: one supervised expose path per provider. */
export async function expose(port: string, options: ExposeOptions): Promise<void> {
  const number = Number(port);
  if (!/^\d+$/.test(port) || number < 1 || number > 65535) {
    throw usageError(
      `[tunnelmux] <port> must be a port number from 1 to 65535, got "${port}"; e.g. tunnelmux expose 22 --via ngrok`,
    );
  }
  const via = (options.via ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (via.length === 0) {
    throw usageError('[tunnelmux] --via needs at least one provider, e.g. --via cloudflare,ngrok,tailscale');
  }
  const bad = via.filter((id) => !PROVIDER_ID.test(id));
  if (bad.length > 0) {
    throw usageError(
      `[tunnelmux] --via must list provider ids (lowercase letters, digits, dashes), got ${bad.map((id) => `"${id}"`).join(', ')}`,
    );
  }
  const duplicate = via.find((id, index) => via.indexOf(id) !== index);
  if (duplicate)
    throw usageError(`[tunnelmux] --via names "${duplicate}" twice; each provider publishes once`);
  if (options.resume && !options.keyFile) {
    throw usageError(
      '[tunnelmux] --resume needs --key-file <file> (make one with: tunnelmux keygen session.key)',
    );
  }
  if (options.keyFile && !options.resume) {
    throw usageError(
      '[tunnelmux] --key-file is for --resume; add --resume to run a relay in front of the port',
    );
  }
  const { up } = await import('./up');
  const { resume: _resume, keyFile, ...rest } = options;
  await up({
    ...rest,
    expose: { port: number, via, host: options.host, resume: keyFile ? { keyFile } : undefined },
  });
}
