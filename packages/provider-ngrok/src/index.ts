import { type DetectContext, type DetectResult, defineProvider, ProviderError } from '@tunnelmux/core';
import { openAccess } from './access';
import { type NgrokOptions, optionsSchema } from './options';

export {
  type AgentEvent,
  type AgentFailure,
  agentEvent,
  parseAgentFailure,
  parseAgentRecord,
} from './agent-log';
export { type Endpoint, listEndpoints, selectEndpoint } from './endpoint-lookup';
export { describeNgrokCode, findNgrokCode, type NgrokCodeInfo, ngrokDocsUrl } from './errors';
export { type NgrokOptions, optionsSchema, parseTcpAddress } from './options';

const INSTALL = 'https://ngrok.com/download';

/** `ngrok version 3.39.2` → `3.39.2`. */
export function parseNgrokVersion(output: string): string | undefined {
  return /ngrok version (\d+\.\d+\.\d+\S*)/.exec(output)?.[1];
}

/**
 * Access mode needs no local binary (the far side runs the agent; this side only dials a TCP address and
 * may ask the ngrok API where it is), so the provider is available either way; the version is reported
 * when `ngrok` is on PATH, because expose mode will drive it.
 */
async function detect(ctx: DetectContext): Promise<DetectResult> {
  const found = await ctx.which('ngrok', ctx.bin);
  if (!found) {
    return {
      available: true,
      detail: `ngrok not found ${ctx.bin ? `at ${ctx.bin}` : 'on PATH'}; access mode does not need it (expose mode will)`,
      install: INSTALL,
    };
  }
  const child = ctx.spawn(found, ['version'], {
    signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
  });
  const info = await child.exited;
  const version = parseNgrokVersion(info.lastLines.join('\n'));
  return {
    available: true,
    path: found,
    version,
    detail: version
      ? undefined
      : `\`${found} version\` printed no version (${info.reason ?? `exit code ${info.code}`})`,
  };
}

export default defineProvider<NgrokOptions>({
  apiVersion: 1,
  name: 'ngrok',
  summary:
    'ngrok TCP endpoints: reach an address an ngrok agent publishes (fixed, or looked up via the ngrok API)',
  modes: ['access'],
  binary: { command: 'ngrok', versionArgs: ['version'], install: INSTALL, parseVersion: parseNgrokVersion },
  options: optionsSchema,
  detect,
  async open(options, ctx) {
    if (ctx.mode !== 'access') {
      throw new ProviderError('expose mode is not implemented yet; use mode "access"', {
        provider: 'ngrok',
        fatal: true,
      });
    }
    return openAccess(options, ctx);
  },
});
