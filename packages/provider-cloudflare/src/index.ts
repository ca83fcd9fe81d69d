// @tunnelmux/provider-cloudflare: Cloudflare Access (and later Tunnel) paths driven by cloudflared.
import { ConfigError, defineProvider } from '@tunnelmux/core';
import { openAccess } from './access';
import { COMMAND, detect, INSTALL_URL, parseVersion } from './detect';
import { type CloudflareOptions, cloudflareOptions } from './options';

const cloudflare = defineProvider<CloudflareOptions>({
  apiVersion: 1,
  name: 'cloudflare',
  summary: 'Cloudflare Access via cloudflared access tcp',
  // The expose side (cloudflared tunnel run with TUNNEL_TOKEN, /ready, quick tunnels) will add 'expose' here.
  modes: ['access'],
  binary: {
    command: COMMAND,
    versionArgs: ['--version'],
    install: INSTALL_URL,
    parseVersion: (output) => parseVersion(output)?.version,
  },
  options: cloudflareOptions,
  detect,
  open: async (options, ctx) => {
    if (ctx.mode === 'access') return openAccess(options, ctx);
    throw ConfigError.invalid('mode', ctx.mode, '"access" (the cloudflare provider has no expose side yet)', {
      provider: 'cloudflare',
      pathId: ctx.pathId,
    });
  },
});

export default cloudflare;
export { type CloudflaredVersion, INSTALL_URL, parseVersion } from './detect';
export { type LogEntry, parseLogLine } from './log-parser';
export { type CloudflareOptions, cloudflareOptions, resolveServiceToken, type ServiceToken } from './options';
export { cloudflare };
