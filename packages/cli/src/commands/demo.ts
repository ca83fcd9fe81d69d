import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../util/errors';
import { printLine } from '../util/output';

/** `tunnelmux demo`: testkit's scripted failover show, bundled into the CLI with its own forwarder script. */
export async function demo(options: { json?: boolean }): Promise<void> {
  const forwarderScript = path.join(distDir(), 'demo-forwarder.js');
  if (!existsSync(forwarderScript)) {
    throw new CliError(
      `[tunnelmux] the demo forwarder ${forwarderScript} is missing; rebuild the CLI (pnpm build)`,
    );
  }
  const { runDemo } = await import('@tunnelmux/testkit');
  const write = options.json
    ? (line: string) => printLine({ type: 'demo', line })
    : (line: string) => process.stdout.write(`${line}\n`);
  const summary = await runDemo({ write, forwarderScript });
  if (options.json) printLine({ type: 'summary', ...summary });
  if (summary.connections.ok === 0) process.exitCode = 1;
}

// The folder of the built CLI (dist/), wherever this chunk landed in it.
function distDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.basename(here) === 'commands' ? path.join(here, '..', '..', 'dist') : here;
}
