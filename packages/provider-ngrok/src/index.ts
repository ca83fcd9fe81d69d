import { ConfigError, type DetectContext, type DetectResult, defineProvider } from '@tunnelmux/core';
import { openAccess } from './access';
import { openExpose } from './expose';
import { accessProblem, type NgrokOptions, optionsSchema } from './options';

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
export { type NgrokOptions, optionsSchema, parseTcpAddress } from './options';

const INSTALL = 'https://ngrok.com/download';

/** `ngrok version 3.39.2` → `3.39.2`. */
export function parseNgrokVersion(output: string): string | undefined {
  return /ngrok version (\d+\.\d+\.\d+\S*)/.exec(output)?.[1];
}

/**
 * Access mode needs no local binary (the far side runs the agent; this side only dials a TCP address and
 * may ask the ngrok API where it is), so the provider is available either way; the version is reported
 * when `ngrok` is on PATH, because expose mode drives it.
 */
async function detect(ctx: DetectContext): Promise<DetectResult> {
  const found = await ctx.which('ngrok', ctx.bin);
  if (!found) {
    return {
      available: true,
      detail: `ngrok not found ${ctx.bin ? `at ${ctx.bin}` : 'on PATH'}; access mode does not need it, expose mode does`,
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
    'ngrok TCP endpoints: reach an address an ngrok agent publishes (fixed, or looked up via the ngrok API), or publish a local port with `ngrok tcp`',
  modes: ['access', 'expose'],
  binary: { command: 'ngrok', versionArgs: ['version'], install: INSTALL, parseVersion: parseNgrokVersion },
  options: optionsSchema,
  detect,
  async open(options, ctx) {
    if (ctx.mode === 'expose') return openExpose(options, ctx);
    const problem = accessProblem(options);
    if (problem) {
      throw new ConfigError(problem.message, {
        provider: 'ngrok',
        field: problem.field,
        value: options[problem.field as keyof NgrokOptions],
      });
    }
    return openAccess(options, ctx);
  },
});
