import { defineProvider } from '@tunnelmux/core';
import { openAccess } from './access';
import { INSTALL_URL, PROVIDER, parseVersion, tailscaleError } from './cli';
import { optionsSchema, type TailscaleOptions } from './options';

export { parseGoDuration } from './duration';
export { optionsSchema, type TailscaleOptions, type TailscaleOptionsInput } from './options';
export { interpretPing, type Pong, parsePong } from './ping';
export { backendProblem, type Peer, parseStatus, resolvePeer, type TailscaleStatus } from './status';

/** Reach a tailnet peer through the tailscale CLI: direct to its tailnet IP, or per connection via `tailscale nc`. */
export default defineProvider<TailscaleOptions>({
  apiVersion: 1,
  name: PROVIDER,
  summary: 'Tailscale peers, dialled directly or through `tailscale nc`',
  // Expose (`tailscale serve --bg --tcp=PORT tcp://127.0.0.1:PORT`) will join here; see README.
  modes: ['access'],
  binary: { command: 'tailscale', versionArgs: ['version'], install: INSTALL_URL, parseVersion },
  options: optionsSchema,
  async open(options, ctx) {
    if (ctx.mode !== 'access') {
      throw tailscaleError(
        `mode "${ctx.mode}" is not supported yet; the tailscale provider runs access paths only`,
        {
          fatal: true,
        },
      );
    }
    return openAccess(options, ctx);
  },
});
