// A small urfave/cli v2 look-alike: the command tree of the real cloudflared, as far as the fake implements
// it. New commands (e.g. `tunnel run` for the expose side) are one more entry in COMMANDS plus an action.

export interface FlagSpec {
  name: string;
  aliases?: readonly string[];
  /** Environment variables read when the flag is not on the command line (first set wins). */
  env?: readonly string[];
  kind: 'string' | 'bool' | 'strings';
  hidden?: boolean;
  usage?: string;
}

export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  usage?: string;
  flags: readonly FlagSpec[];
  subcommands?: readonly CommandSpec[];
  /** The action the fake runs for a leaf command. */
  action?: string;
}

const LOG_FLAGS: readonly FlagSpec[] = [
  { name: 'logfile', kind: 'string', usage: 'Save application log to this file for reporting issues.' },
  {
    name: 'log-directory',
    kind: 'string',
    usage: 'Save application log to this directory for reporting issues.',
  },
  {
    name: 'log-level',
    aliases: ['loglevel'],
    kind: 'string',
    usage: 'Application logging level {debug, info, warn, error, fatal}. ',
  },
];

/** `cloudflared access tcp|ssh|rdp|smb` (cmd/cloudflared/access/cmd.go). */
const ACCESS_TCP: CommandSpec = {
  name: 'tcp',
  aliases: ['rdp', 'ssh', 'smb'],
  action: 'access-tcp',
  flags: [
    {
      name: 'hostname',
      aliases: ['tunnel-host', 'T'],
      env: ['TUNNEL_SERVICE_HOSTNAME'],
      kind: 'string',
      usage: 'specify the hostname of your application.',
    },
    {
      name: 'destination',
      env: ['TUNNEL_SERVICE_DESTINATION'],
      kind: 'string',
      usage: 'specify the destination address of your SSH server.',
    },
    {
      name: 'url',
      aliases: ['listener', 'L'],
      env: ['TUNNEL_SERVICE_URL'],
      kind: 'string',
      usage: 'specify the host:port to forward data to Cloudflare edge.',
    },
    {
      name: 'header',
      aliases: ['H'],
      kind: 'strings',
      usage: 'specify additional headers you wish to send.',
    },
    {
      name: 'service-token-id',
      aliases: ['id'],
      env: ['TUNNEL_SERVICE_TOKEN_ID'],
      kind: 'string',
      usage: 'specify an Access service token ID you wish to use.',
    },
    {
      name: 'service-token-secret',
      aliases: ['secret'],
      env: ['TUNNEL_SERVICE_TOKEN_SECRET'],
      kind: 'string',
      usage: 'specify an Access service token secret you wish to use.',
    },
    ...LOG_FLAGS,
    { name: 'connect-to', kind: 'string', hidden: true },
    { name: 'debug-stream', kind: 'string', hidden: true },
  ],
};

/** Flags of `cloudflared tunnel` that tunnelmux or its tests use (cmd/cloudflared/tunnel/cmd.go), run parameters. */
const TUNNEL_FLAGS: readonly FlagSpec[] = [
  { name: 'url', env: ['TUNNEL_URL'], kind: 'string', usage: 'Connect to the local webserver at URL.' },
  { name: 'hello-world', env: ['TUNNEL_HELLO_WORLD'], kind: 'bool', usage: 'Run Hello World Server' },
  {
    name: 'metrics',
    env: ['TUNNEL_METRICS'],
    kind: 'string',
    usage: 'Listen address for metrics reporting.',
  },
  {
    name: 'no-autoupdate',
    env: ['NO_AUTOUPDATE'],
    kind: 'bool',
    usage: 'Disable periodic check for updates, restarting the server with the new version.',
  },
  { name: 'autoupdate-freq', kind: 'string', usage: 'Autoupdate frequency.' },
  {
    name: 'loglevel',
    aliases: ['log-level'],
    env: ['TUNNEL_LOGLEVEL'],
    kind: 'string',
    usage: 'Application logging level {debug, info, warn, error, fatal}.',
  },
  { name: 'transport-loglevel', aliases: ['proto-loglevel'], env: ['TUNNEL_PROTO_LOGLEVEL'], kind: 'string' },
  { name: 'logfile', env: ['TUNNEL_LOGFILE'], kind: 'string', usage: 'Save application log to this file.' },
  { name: 'log-directory', env: ['TUNNEL_LOGDIRECTORY'], kind: 'string' },
  { name: 'output', env: ['TUNNEL_LOG_OUTPUT'], kind: 'string', usage: 'Output format for the logs.' },
  { name: 'protocol', aliases: ['p'], env: ['TUNNEL_TRANSPORT_PROTOCOL'], kind: 'string' },
  { name: 'edge-ip-version', env: ['TUNNEL_EDGE_IP_VERSION'], kind: 'string' },
  { name: 'region', env: ['TUNNEL_REGION'], kind: 'string' },
  { name: 'retries', env: ['TUNNEL_RETRIES'], kind: 'string', usage: 'Maximum number of retries.' },
  { name: 'grace-period', env: ['TUNNEL_GRACE_PERIOD'], kind: 'string' },
  { name: 'ha-connections', kind: 'string', hidden: true },
  { name: 'pidfile', env: ['TUNNEL_PIDFILE'], kind: 'string' },
  { name: 'name', aliases: ['n'], env: ['TUNNEL_NAME'], kind: 'string' },
  { name: 'config', kind: 'string', usage: 'Specifies a config file in YAML format.' },
];

/** `cloudflared tunnel run` (cmd/cloudflared/tunnel/subcommands.go). */
const TUNNEL_RUN: CommandSpec = {
  name: 'run',
  action: 'tunnel-run',
  usage: 'Proxy a local web server by running the given tunnel',
  flags: [
    {
      name: 'token',
      env: ['TUNNEL_TOKEN'],
      kind: 'string',
      usage: 'The Tunnel token. When provided along with credentials, this will take precedence.',
    },
    {
      name: 'token-file',
      env: ['TUNNEL_TOKEN_FILE'],
      kind: 'string',
      usage: 'Filepath at which to read the tunnel token.',
    },
    { name: 'credentials-file', aliases: ['cred-file'], env: ['TUNNEL_CRED_FILE'], kind: 'string' },
    { name: 'url', env: ['TUNNEL_URL'], kind: 'string' },
    { name: 'protocol', aliases: ['p'], env: ['TUNNEL_TRANSPORT_PROTOCOL'], kind: 'string' },
  ],
};

/** `cloudflared tunnel`: with `--url` and no subcommand, a quick tunnel on trycloudflare.com. */
const TUNNEL: CommandSpec = {
  name: 'tunnel',
  action: 'tunnel',
  usage:
    'Use Cloudflare Tunnel to expose private services to the Internet or to Cloudflare connected private users.',
  flags: TUNNEL_FLAGS,
  subcommands: [TUNNEL_RUN],
};

/** The root command: version flags and the (hidden) logging flags shared with `tunnel`. */
export const ROOT: CommandSpec = {
  name: 'cloudflared',
  flags: [
    { name: 'version', aliases: ['v', 'V'], kind: 'bool', usage: 'Print the version' },
    { name: 'loglevel', env: ['TUNNEL_LOGLEVEL'], kind: 'string', hidden: true },
    { name: 'output', env: ['TUNNEL_LOG_OUTPUT'], kind: 'string', hidden: true },
    { name: 'no-autoupdate', env: ['NO_AUTOUPDATE'], kind: 'bool', hidden: true },
  ],
  subcommands: [
    {
      name: 'version',
      action: 'version',
      usage: 'Print the version',
      flags: [{ name: 'short', aliases: ['s'], kind: 'bool', usage: 'print just the version number' }],
    },
    {
      name: 'access',
      aliases: ['forward'],
      usage: 'access <subcommand>',
      flags: [{ name: 'fedramp', kind: 'bool', usage: 'use when performing operations in fedramp account' }],
      subcommands: [ACCESS_TCP],
    },
    TUNNEL,
  ],
};

/** A parsed command line: the command chain (canonical names), flag values by canonical name, positionals. */
export interface Parsed {
  /** Canonical names below the root, e.g. `['access', 'tcp']` for `forward ssh`. */
  path: string[];
  action?: string;
  help: boolean;
  positionals: string[];
  /** Flags given on the command line, by canonical name, from every level of the chain. */
  set: Map<string, string | string[] | boolean>;
  /** Specs of every flag visible at the leaf (its own and its ancestors'), for env fallbacks. */
  specs: FlagSpec[];
}

/** A usage error: urfave prints it with `See 'cloudflared <cmd> --help'.` and exits 255. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
  }
}

function findFlag(specs: readonly FlagSpec[], name: string): FlagSpec | undefined {
  return specs.find((spec) => spec.name === name || spec.aliases?.includes(name));
}

/** Parse argv like urfave/cli v2: flags (`-x`, `--x`, `--x=v`) before positionals, one command level at a time. */
export function parseArgs(argv: readonly string[], root: CommandSpec = ROOT): Parsed {
  const set = new Map<string, string | string[] | boolean>();
  const path: string[] = [];
  const specs: FlagSpec[] = [];
  let command = root;
  let help = false;
  let index = 0;
  const fullName = () => path.join(' ') || 'cloudflared';
  for (;;) {
    specs.push(...command.flags);
    const positionals: string[] = [];
    // Go's flag package: flags until the first non-flag; `--` ends flags.
    while (index < argv.length) {
      const arg = argv[index]!;
      if (arg === '--') {
        index += 1;
        break;
      }
      if (!arg.startsWith('-') || arg === '-') break;
      index += 1;
      const body = arg.replace(/^--?/, '');
      const eq = body.indexOf('=');
      const name = eq === -1 ? body : body.slice(0, eq);
      if (name === 'help' || name === 'h') {
        help = true;
        continue;
      }
      const spec = findFlag(command.flags, name);
      if (!spec) throw new UsageError(`flag provided but not defined: -${name}`, fullName());
      if (spec.kind === 'bool') {
        set.set(spec.name, eq === -1 ? true : body.slice(eq + 1) !== 'false');
        continue;
      }
      let value: string;
      if (eq !== -1) value = body.slice(eq + 1);
      else if (index < argv.length) value = argv[index++]!;
      else throw new UsageError(`flag needs an argument: -${name}`, fullName());
      if (spec.kind === 'strings') {
        const list = (set.get(spec.name) as string[] | undefined) ?? [];
        list.push(value);
        set.set(spec.name, list);
      } else {
        set.set(spec.name, value);
      }
    }
    const next = argv[index];
    const sub =
      next === undefined
        ? undefined
        : command.subcommands?.find((c) => c.name === next || c.aliases?.includes(next));
    if (sub && !help) {
      path.push(sub.name);
      command = sub;
      index += 1;
      continue;
    }
    positionals.push(...argv.slice(index));
    return { path, action: command.action, help, positionals, set, specs };
  }
}

/** A flag's value: the command line first, then its environment variables (urfave's EnvVars). */
export function flagValue(parsed: Parsed, name: string, env: NodeJS.ProcessEnv): string | undefined {
  const given = parsed.set.get(name);
  if (typeof given === 'string') return given;
  const spec = parsed.specs.find((candidate) => candidate.name === name);
  for (const variable of spec?.env ?? []) {
    const value = env[variable];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** True when the flag was given on the command line or through its environment variable (urfave's IsSet). */
export function isSet(parsed: Parsed, name: string, env: NodeJS.ProcessEnv): boolean {
  return parsed.set.has(name) || flagValue(parsed, name, env) !== undefined;
}

/** urfave-style help for a command (enough for a human; nobody parses it). */
export function helpText(parsed: Pick<Parsed, 'path'>, root: CommandSpec = ROOT): string {
  let command = root;
  for (const name of parsed.path) command = command.subcommands?.find((c) => c.name === name) ?? command;
  const lines = [`NAME:`, `   cloudflared ${parsed.path.join(' ')}`.trimEnd(), ''];
  if (command.subcommands?.length) {
    lines.push('COMMANDS:');
    for (const sub of command.subcommands) lines.push(`   ${[sub.name, ...(sub.aliases ?? [])].join(', ')}`);
    lines.push('');
  }
  lines.push('OPTIONS:');
  for (const flag of command.flags) {
    if (flag.hidden) continue;
    const names = [flag.name, ...(flag.aliases ?? [])].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
    const value = flag.kind === 'bool' ? '' : ' value';
    const env = flag.env?.length ? ` [$${flag.env.join(', $')}]` : '';
    lines.push(`   ${names.join(', ')}${value}\t${flag.usage ?? ''}${env}`);
  }
  lines.push('   --help, -h\tshow help');
  return lines.join('\n');
}
