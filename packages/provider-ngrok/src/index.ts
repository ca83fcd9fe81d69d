// @tunnelmux/provider-ngrok: reach an address an ngrok agent publishes (access), or run the agent here (expose).
import { defineProvider } from '@tunnelmux/core';
import { openAccess } from './access';
import { openExpose } from './expose';
import { accessOptions, exposeOptions } from './options';

export {
  type AgentEvent,
  type AgentFailure,
  agentEvent,
  maskTokens,
  parseAgentFailure,
  parseAgentRecord,
} from './agent-log';
export { type Endpoint, listEndpoints, selectEndpoint } from './endpoint-lookup';
export { describeNgrokCode, findNgrokCode, type NgrokCodeInfo, ngrokDocsUrl } from './errors';
export { agentApiBase, exposeArgs, localAddressArg } from './expose';
export { accessOptions, exposeOptions, type NgrokOptions, optionsSchema, parseTcpAddress } from './options';

/** `ngrok version 3.39.2` → `3.39.2`. */
export function parseNgrokVersion(output: string): string | undefined {
  return /ngrok version (\d+\.\d+\.\d+\S*)/.exec(output)?.[1];
}

export default defineProvider({
  apiVersion: 1,
  name: 'ngrok',
  summary:
    'ngrok TCP endpoints: reach an address an ngrok agent publishes (fixed, or looked up via the ngrok API), or publish a local port with `ngrok tcp`',
  binary: {
    command: 'ngrok',
    versionArgs: ['version'],
    install: 'https://ngrok.com/download',
    parseVersion: parseNgrokVersion,
    // Access mode only dials a TCP address (and may ask the ngrok API where it is); expose runs the agent.
    optional: 'access mode does not need it, expose mode does',
    // The agent's own settings (NGROK_CONFIG…); a pattern never passes a secret such as another path's token.
    env: ['NGROK_*'],
  },
  access: { options: accessOptions, open: openAccess },
  expose: { options: exposeOptions, open: openExpose },
});
