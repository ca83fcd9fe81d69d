// Finding cloudflared and reading its version.
import { type DetectContext, type DetectResult, ProviderError } from '@tunnelmux/core';

export const INSTALL_URL =
  'https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/';
export const COMMAND = 'cloudflared';
/** cloudflared's own settings that reach it from tunnelmux's environment; a pattern never passes a secret. */
export const CLOUDFLARED_ENV: readonly string[] = ['TUNNEL_*'];

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

/** The executable to run: `bin` when given, else `cloudflared` on PATH; a fatal error says how to fix it. */
export async function resolveBinary(
  ctx: Pick<DetectContext, 'which'>,
  bin: string | undefined,
  where: { pathId?: string } = {},
): Promise<string> {
  const found = await ctx.which(COMMAND, bin);
  if (found) return found;
  const message = bin
    ? `option "bin" must be the path of an executable cloudflared, got ${JSON.stringify(bin)} (not found or not executable); fix the path or remove "bin" to use cloudflared from PATH`
    : `cloudflared was not found on PATH; install it from ${INSTALL_URL} or set option "bin" to its path`;
  throw new ProviderError(message, {
    provider: 'cloudflare',
    pathId: where.pathId,
    fatal: true,
    code: 'ERR_BINARY_MISSING',
  });
}

/** Find cloudflared and ask its version (through the spawn helper, bounded by 10 s and `ctx.signal`). */
export async function detect(ctx: DetectContext): Promise<DetectResult> {
  const found = await ctx.which(COMMAND, ctx.bin);
  if (!found) {
    return {
      available: false,
      detail: ctx.bin ? `${ctx.bin} is not an executable file` : 'cloudflared not found on PATH',
      install: INSTALL_URL,
    };
  }
  const child = ctx.spawn(found, ['--version'], {
    signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
    killGraceMs: 1000,
  });
  const info = await child.exited;
  const output = info.lastLines.join('\n');
  const parsed = parseVersion(output);
  if (!parsed) {
    return {
      available: false,
      path: found,
      detail: `\`${found} --version\` printed no version (exit code ${info.code ?? info.signal}): ${output.slice(0, 200)}`,
      install: INSTALL_URL,
    };
  }
  const facts = [parsed.built && `built ${parsed.built}`, parsed.fips && 'FIPS'].filter(Boolean);
  return { available: true, path: found, version: parsed.version, detail: facts.join(', ') || undefined };
}
