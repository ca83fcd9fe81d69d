/**
 * V8 grows its young generation whenever survivors pile up and never gives it back while the process is busy:
 * over hours a long-running `up` ratchets from 2 MB to 128 MB of young space, all of it resident. Daemons run
 * with a fixed cap instead, set the only way V8 takes it: on the command line, before the heap exists.
 */
export const SEMI_SPACE_MB = 8;

/** The commands that run until stopped; short commands start faster without a second exec. */
const DAEMONS = new Set(['up', 'expose', 'relay']);

const FLAG = '--max-semi-space-size';

/**
 * The argv to exec this process again with the young-generation cap, or undefined when it needs none: not a
 * daemon, only asking for help, or the cap (any value) already chosen on the command line or in NODE_OPTIONS.
 */
export function daemonExecArgv(
  execPath: string,
  execArgv: readonly string[],
  argv: readonly string[],
  nodeOptions = '',
): string[] | undefined {
  const args = argv.slice(2);
  if (!DAEMONS.has(args[0] ?? '')) return undefined;
  if (args.some((arg) => arg === '--help' || arg === '-h')) return undefined;
  if ([...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => arg.startsWith(FLAG))) return undefined;
  return [execPath, `${FLAG}=${SEMI_SPACE_MB}`, ...execArgv, ...argv.slice(1)];
}
