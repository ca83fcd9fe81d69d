// The fake cloudflared's entry: version, help, usage errors, `access tcp` and `tunnel [run]` (args.ts has the tree).
import { runAccessTcp } from './access';
import { helpText, type Parsed, parseArgs, UsageError } from './args';
import { CLOUDFLARED_FAKE_BUILT, CLOUDFLARED_FAKE_VERSION } from './hooks';
import { runTunnel } from './tunnel';

const ACTIONS: Record<string, (parsed: Parsed, env: NodeJS.ProcessEnv) => Promise<number>> = {
  'access-tcp': runAccessTcp,
  tunnel: runTunnel,
  'tunnel-run': runTunnel,
  version: async (parsed) => {
    const short = parsed.set.get('short') === true;
    process.stdout.write(short ? `${CLOUDFLARED_FAKE_VERSION}\n` : versionLine());
    return 0;
  },
};

function versionLine(): string {
  return `cloudflared version ${CLOUDFLARED_FAKE_VERSION} (built ${CLOUDFLARED_FAKE_BUILT})\n`;
}

function usage(error: UsageError): number {
  process.stderr.write(`${error.message}\nSee 'cloudflared ${error.command} --help'.\n`);
  return 255;
}

/** Run the fake with `argv` (without node and script); resolves with the exit code. */
export async function runFakeCloudflared(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  // SIGTERM/SIGINT end the listener cleanly, exit 0.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      return usage(new UsageError(`Incorrect Usage: ${error.message}`, error.command));
    }
    throw error;
  }
  if (parsed.set.get('version') === true) {
    process.stdout.write(versionLine());
    return 0;
  }
  if (parsed.help) {
    process.stdout.write(`${helpText(parsed)}\n`);
    return 0;
  }
  const action = parsed.action ? ACTIONS[parsed.action] : undefined;
  if (!action) {
    if (parsed.positionals.length === 0) {
      process.stdout.write(`${helpText(parsed)}\n`);
      return 0;
    }
    const name = [...parsed.path, parsed.positionals[0]].join(' ');
    process.stderr.write(`[fake cloudflared] "cloudflared ${name}" is not implemented by this fake\n`);
    return 1;
  }
  try {
    return await action(parsed, env);
  } catch (error) {
    if (error instanceof UsageError) return usage(error);
    throw error;
  }
}
