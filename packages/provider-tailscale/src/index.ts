import { defineProvider } from '@tunnelmux/core';
import { openAccess } from './access';
import { INSTALL_URL, PROVIDER, parseVersion } from './cli';
import { openExpose } from './expose';
import { optionsSchema, type TailscaleOptions } from './options';

export { parseGoDuration } from './duration';
export { optionsSchema, type TailscaleOptions, type TailscaleOptionsInput } from './options';
export { interpretPing, type Pong, parsePong } from './ping';
export { describeHandler, findHandler, forwardsTo, parseServeConfig, type ServeConfig } from './serve';
export { backendProblem, type Peer, parseStatus, resolvePeer, type TailscaleStatus } from './status';

/**
 * access: reach a tailnet peer, directly at its tailnet IP or per connection via `tailscale nc`.
 * expose: publish a local port on this node's tailnet address with `tailscale serve --bg --tcp=N`.
 */
export default defineProvider<TailscaleOptions>({
  apiVersion: 1,
  name: PROVIDER,
  summary: 'Tailscale: reach peers directly or via `tailscale nc`; publish a port with `tailscale serve`',
  modes: ['access', 'expose'],
  binary: { command: 'tailscale', versionArgs: ['version'], install: INSTALL_URL, parseVersion },
  options: optionsSchema,
  async open(options, ctx) {
    return ctx.mode === 'expose' ? openExpose(options, ctx) : openAccess(options, ctx);
  },
});
