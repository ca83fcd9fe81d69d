import {
  DEFAULT_TAILSCALE_SOCKET,
  type FakeTailscaleState,
  readTailscaleState,
  TAILSCALE_STATE_ENV,
} from './state';

// What every fake `tailscale` subcommand shares: the exit convention, Go flag parsing, output, and the
// LocalAPI connection check. Its own module so `cli` and `serve` both use it without importing each other.

/** Thrown to end the program: the text goes to stderr (Go's `fmt.Fprintln(os.Stderr, err)`) unless empty. */
export class Exit extends Error {
  constructor(
    readonly code: number,
    readonly stderr = '',
  ) {
    super(stderr);
  }
}

type FlagKind = 'bool' | 'string';

/** Go `flag` parsing: `-x`, `--x`, `--x=v`, `--x v`; stops at the first positional or `--`. */
export function parseFlags(
  args: readonly string[],
  spec: Record<string, FlagKind>,
): { flags: Record<string, string>; rest: string[] } {
  const flags: Record<string, string> = {};
  let index = 0;
  for (; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--') {
      index++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const kind = spec[name];
    if (!kind) throw new Exit(1, `flag provided but not defined: -${name}`);
    if (eq !== -1) {
      const value = body.slice(eq + 1);
      if (kind === 'bool' && !/^(1|0|t|f|true|false|TRUE|FALSE|True|False)$/.test(value)) {
        throw new Exit(1, `invalid boolean value "${value}" for -${name}: parse error`);
      }
      flags[name] = kind === 'bool' ? String(/^(1|t|true)$/i.test(value)) : value;
    } else if (kind === 'bool') {
      flags[name] = 'true';
    } else {
      const value = args[++index];
      if (value === undefined) throw new Exit(1, `flag needs an argument: -${name}`);
      flags[name] = value;
    }
  }
  return { flags, rest: args.slice(index) };
}

export function out(text: string): void {
  process.stdout.write(text);
}

/** What `isRunningOrStarting` prints when the node cannot be used (cli/status.go). */
function notRunning(state: FakeTailscaleState): string | undefined {
  switch (state.BackendState) {
    case 'Running':
    case 'Starting':
      return undefined;
    case 'Stopped':
      return 'Tailscale is stopped.';
    case 'NeedsLogin':
      return state.AuthURL ? `Logged out.\nLog in at: ${state.AuthURL}` : 'Logged out.';
    case 'NeedsMachineAuth':
      return 'Machine is not yet approved by tailnet admin.';
    default:
      return `unexpected state: ${state.BackendState}`;
  }
}

/** ping/nc/ip need a usable node: otherwise the description goes to stdout and the exit code is 1. */
export function requireRunning(state: FakeTailscaleState): void {
  const description = notRunning(state);
  if (description) {
    out(`${description}\n`);
    throw new Exit(1);
  }
}

/** The LocalAPI connection: the daemon must run and listen on the socket asked for. */
export function connect(socket: string, endpoint: string): FakeTailscaleState {
  const state = readTailscaleState(process.env[TAILSCALE_STATE_ENV]);
  const listening = state?.daemon?.socket ?? DEFAULT_TAILSCALE_SOCKET;
  if (!state || state.daemon?.running === false || listening !== socket) {
    throw new Exit(
      1,
      `Failed to connect to local Tailscale daemon for ${endpoint}; not running? Error: dial unix ${socket}: connect: no such file or directory`,
    );
  }
  return state;
}
