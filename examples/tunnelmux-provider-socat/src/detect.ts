// Finding socat and reading its version from `socat -V`.
import type { DetectContext, DetectResult } from '@tunnelmux/core';

export const COMMAND = 'socat';
export const INSTALL =
  'install socat: `apt-get install socat` (Debian/Ubuntu), `dnf install socat`, `brew install socat`, http://www.dest-unreach.org/socat/';

/**
 * The version from `socat -V`, whose first lines are
 * `socat by Gerhard Rieger and contributors - see www.dest-unreach.org` and `socat version 1.7.4.4 on 06 Nov 2022 08:15:51`.
 * Undefined when the output is not socat's.
 */
export function parseSocatVersion(output: string): string | undefined {
  if (!/^socat by /m.test(output)) return undefined;
  return /^socat version (\d+(?:\.\d+){1,3})\b/m.exec(output)?.[1];
}

/** Find socat (or `bin`) and ask it its version. */
export async function detect(ctx: DetectContext): Promise<DetectResult> {
  const found = await ctx.which(COMMAND, ctx.bin);
  if (!found) {
    return {
      available: false,
      detail: `socat not found ${ctx.bin ? `at ${ctx.bin}` : 'on PATH'}`,
      install: INSTALL,
    };
  }
  // `socat -V` prints ~80 lines (its features); the version is on the second, so read from the start.
  const child = ctx.spawn(found, ['-V'], { signal: ctx.signal, keepLines: 5 });
  const head: string[] = [];
  child.onLine(({ text }) => {
    if (head.length < 5) head.push(text);
  });
  const info = await child.exited;
  const output = head.join('\n');
  const version = parseSocatVersion(output);
  if (!version) {
    return {
      available: false,
      path: found,
      detail: `\`${found} -V\` did not print a socat version (exit ${info.code ?? info.signal}, got ${JSON.stringify(output.slice(0, 200))})`,
      install: INSTALL,
    };
  }
  return { available: true, path: found, version };
}
