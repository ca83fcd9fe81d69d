// @tunnelmux/provider-cloudflare: Cloudflare Access (access) and Cloudflare Tunnel (expose) paths driven by cloudflared.
import { defineProvider } from '@tunnelmux/core';
import { openAccess } from './access';
import { openExpose } from './expose';
import { accessOptions, exposeOptions } from './options';

export const INSTALL_URL =
  'https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/';

/** What `cloudflared --version` says. */
export interface CloudflaredVersion {
  version: string;
  /** The build time as printed, e.g. `2025-11-07T16:30 UTC`. */
  built?: string;
  fips: boolean;
}

/** Parse `cloudflared version 2025.11.1 (built 2025-11-07T16:30 UTC)` (or the bare `version --short` output). */
export function parseVersion(output: string): CloudflaredVersion | undefined {
  const full = /cloudflared version (\S+)(?: \(built (.+?)( with FIPS)?\))?/.exec(output);
  if (full) return { version: full[1]!, built: full[2], fips: full[3] !== undefined };
  const short = /^\s*(\d+\.\d+\.\d+\S*)\s*$/.exec(output);
  return short ? { version: short[1]!, fips: false } : undefined;
}

const cloudflare = defineProvider({
  apiVersion: 1,
  name: 'cloudflare',
  summary:
    'Cloudflare Access (cloudflared access tcp) and Cloudflare Tunnel (cloudflared tunnel run / quick tunnels)',
  binary: {
    command: 'cloudflared',
    versionArgs: ['--version'],
    install: INSTALL_URL,
    parseVersion(output) {
      const parsed = parseVersion(output);
      const facts = [parsed?.built && `built ${parsed.built}`, parsed?.fips && 'FIPS'].filter(Boolean);
      return parsed && { version: parsed.version, detail: facts.join(', ') || undefined };
    },
    // cloudflared's own settings; a pattern never passes a secret-looking name such as another path's token.
    env: ['TUNNEL_*'],
  },
  access: { options: accessOptions, open: openAccess },
  expose: { options: exposeOptions, open: openExpose },
});

export default cloudflare;
export {
  checkReady,
  diagnoseTunnelLine,
  exposeOpenFailure,
  fatalExitReason,
  type TunnelDiagnosis,
} from './expose';
export { type LogEntry, parseLogLine } from './log-parser';
export {
  type AccessOptions,
  accessOptions,
  type ExposeOptions,
  exposeOptions,
  resolveServiceToken,
  resolveTunnelToken,
  type ServiceToken,
} from './options';
export { cloudflare };
