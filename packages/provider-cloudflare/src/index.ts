// @tunnelmux/provider-cloudflare: Cloudflare Access (access) and Cloudflare Tunnel (expose) paths driven by cloudflared.
import { defineProvider } from '@tunnelmux/core';
import { openAccess } from './access';
import { COMMAND, detect, INSTALL_URL, parseVersion } from './detect';
import { openExpose } from './expose';
import { type CloudflareOptions, cloudflareOptions } from './options';

const cloudflare = defineProvider<CloudflareOptions>({
  apiVersion: 1,
  name: 'cloudflare',
  summary:
    'Cloudflare Access (cloudflared access tcp) and Cloudflare Tunnel (cloudflared tunnel run / quick tunnels)',
  modes: ['access', 'expose'],
  binary: {
    command: COMMAND,
    versionArgs: ['--version'],
    install: INSTALL_URL,
    parseVersion: (output) => parseVersion(output)?.version,
  },
  options: cloudflareOptions,
  detect,
  open: async (options, ctx) => (ctx.mode === 'expose' ? openExpose(options, ctx) : openAccess(options, ctx)),
});

export default cloudflare;
export { type CloudflaredVersion, INSTALL_URL, parseVersion } from './detect';
export {
  checkReady,
  diagnoseTunnelLine,
  exposeOpenFailure,
  fatalExitReason,
  type TunnelDiagnosis,
} from './expose';
export { type LogEntry, parseLogLine } from './log-parser';
export {
  type CloudflareOptions,
  cloudflareOptions,
  resolveServiceToken,
  resolveTunnelToken,
  type ServiceToken,
} from './options';
export { cloudflare };
