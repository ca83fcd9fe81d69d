import { defineProvider } from '@tunnelmux/core';
import { openAccess } from './access';
import { INSTALL_URL, PROVIDER, parseVersion } from './cli';
import { openExpose } from './expose';
import { accessOptions, exposeOptions } from './options';

export { parseGoDuration } from './duration';
export {
  accessOptions,
  exposeOptions,
  optionsSchema,
  type TailscaleOptions,
  type TailscaleOptionsInput,
} from './options';
export { interpretPing, type Pong, parsePong } from './ping';
export { describeHandler, findHandler, forwardsTo, parseServeConfig, type ServeConfig } from './serve';
export { backendProblem, type Peer, parseStatus, resolvePeer, type TailscaleStatus } from './status';

/**
 * access: reach a tailnet peer, directly at its tailnet IP or per connection via `tailscale nc`.
 * expose: publish a local port on this node's tailnet address with `tailscale serve --bg --tcp=N`.
 */
export default defineProvider({
  apiVersion: 1,
  name: PROVIDER,
  summary: 'Tailscale: reach peers directly or via `tailscale nc`; publish a port with `tailscale serve`',
  binary: {
    command: 'tailscale',
    versionArgs: ['version'],
    install: INSTALL_URL,
    parseVersion,
    // The CLI's own variables (TS_DEBUG_…); a pattern never passes a secret-looking name such as TS_AUTHKEY.
    env: ['TS_*'],
  },
  access: { options: accessOptions, open: openAccess },
  expose: { options: exposeOptions, open: openExpose },
});
