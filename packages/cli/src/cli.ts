import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import ms from 'ms';
import { shown } from './control/shown';
import { reportError } from './util/report-error';
import { VERSION } from './version';

const EXAMPLES = `
Examples:
  $ tunnelmux init                        write tunnelmux.yaml interactively
  $ tunnelmux up                          open every path and the front door (Ctrl-C stops all)
  $ ssh -p 2222 127.0.0.1                 connect through whichever path is primary
  $ tunnelmux status                      ask the running instance
  $ tunnelmux primary cf                  pin path "cf" as primary (--clear to unpin)
  $ tunnelmux reload                      apply an edited config without dropping sessions (or SIGHUP)
  $ tunnelmux events --follow --type failover
  $ tunnelmux metrics --format prometheus
  $ tunnelmux report --since 7d           availability, outages and failovers from the history
  $ tunnelmux doctor                      what is missing and how to fix it
  $ tunnelmux demo                        a self-contained failover demo, no tunnel tools needed

Config: tunnelmux.yaml (or .yml/.json) in this folder, or --config FILE.
Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.`;

// Each action imports its command module only when it runs, so start-up stays light.
type Action = (...args: never[]) => Promise<void>;
const lazy =
  <M>(load: () => Promise<M>, pick: (module: M) => Action) =>
  async (...args: unknown[]) => {
    const action = pick(await load()) as (...a: unknown[]) => Promise<void>;
    await action(...args);
  };

function controlOptions(command: Command): Command {
  return command
    .option('--json', 'print JSON for scripts')
    .option('--socket <file>', 'control socket of the running instance')
    .option(
      '--name <name>',
      "instance name (picks the socket; default: the config's name, else the only instance running)",
    )
    .option('-c, --config <file>', 'config file, to read the instance name from')
    .option(
      '--timeout <duration>',
      'give up when the instance does not answer within this (e.g. 5s, 1m; default 10s)',
      parseTimeout,
    );
}

// Path commands name a service only when the instance runs several.
function serviceOption(command: Command): Command {
  return command.option(
    '-s, --service <name>',
    'the service whose path this is (needed only when the instance runs several services)',
  );
}

// `history` and `report` read the history file, not the running instance.
function historyOptions(command: Command): Command {
  return command
    .option('--json', 'print JSON for scripts')
    .option(
      '-c, --config <file>',
      'config whose state: names the history file (default: tunnelmux.yaml here)',
    )
    .option('--state <path>', 'read this history file (or state folder) instead')
    .option('--name <name>', 'only this instance (several may share one file)');
}

const HISTORY_HELP = `
\`tunnelmux up\` records into a SQLite file in the state folder ($XDG_STATE_HOME/tunnelmux/history.sqlite, or the
config's state:), kept 30 days and 100MB by default (history: { retention, maxSize }). Times are UTC.

Examples:
  $ tunnelmux history
  $ tunnelmux history --since 7d --type failover,primary-change
  $ tunnelmux history --path cf --since 2026-11-29 --until 2026-11-30
  $ tunnelmux history --follow --json | jq 'select(.type == "failover")'`;

const REPORT_HELP = `
Counts only the time \`tunnelmux up\` ran. A path is up while connected; a service while any path is. An outage
is a stretch not up (not the opening one); MTTR is the mean of those that ended in the range; an outage that
spans --since counts with its part inside the range. Latency comes from per-minute figures. One bar per UTC day.

Examples:
  $ tunnelmux report
  $ tunnelmux report --since 30d
  $ tunnelmux report --since 24h --json | jq '.services[].availability'`;

// Within what a timer can hold (about 24 days); a day is already far past any sane wait.
const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

export function parseTimeout(value: string): number {
  const parsed = /^\s*\d/.test(value) ? ms(value.trim() as ms.StringValue) : undefined;
  if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed <= 0 || parsed > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError(
      `expected a duration from 1ms to 24h such as 500ms, 10s or 1m, got ${shown(value)}`,
    );
  }
  return parsed;
}

/** Build the `tunnelmux` program. */
export function buildProgram(): Command {
  const program = new Command('tunnelmux')
    .description('One stable local TCP port carried over several tunnels at once, with live failover.')
    .version(VERSION, '-v, --version', 'print the version')
    .showHelpAfterError('(run tunnelmux --help for usage)')
    .addHelpText('after', EXAMPLES);

  program
    .command('up')
    .description('open every path in the config, serve the front door, and fail over live (Ctrl-C stops all)')
    .option('-c, --config <file>', 'config file (default: tunnelmux.yaml/.yml/.json here)')
    .option('-l, --listen <addr>', 'front door address, overrides the config (e.g. 127.0.0.1:2222)')
    .option(
      '--name <name>',
      'instance name, for the control socket (default from the config, else "default")',
    )
    .option('--socket <file>', 'control socket path (default $XDG_RUNTIME_DIR/tunnelmux/<name>.sock)')
    .option(
      '--metrics-listen <addr>',
      'serve Prometheus /metrics here (loopback only unless --metrics-public)',
    )
    .option('--metrics-public', 'allow --metrics-listen on a non-loopback address')
    .option(
      '--dashboard [addr]',
      'serve the web dashboard and HTTP API (default 127.0.0.1 on a free port; needs @tunnelmux/dashboard)',
    )
    .option('--dashboard-public', 'allow --dashboard on a non-loopback address')
    .option('--json', 'print events as NDJSON instead of the live view')
    .option('-w, --watch', 'reload when the config file changes (debounced; same as `tunnelmux reload`)')
    .addHelpText(
      'after',
      `
On a terminal: a live view of paths, latency, bytes and failovers. Piped: one log line per event.
SIGHUP, \`tunnelmux reload\` and --watch read the config again and apply only what changed.

Examples:
  $ tunnelmux up
  $ tunnelmux up --config ~/tunnels/devbox.yaml --listen 127.0.0.1:2200
  $ tunnelmux up --json | jq 'select(.type == "failover")'
  $ tunnelmux up --metrics-listen 127.0.0.1:9464
  $ tunnelmux up --watch
  $ tunnelmux up --dashboard              prints http://127.0.0.1:<port>/?token=… to open`,
    )
    .action(
      lazy(
        () => import('./commands/up'),
        (m) => m.up,
      ),
    );

  program
    .command('expose <port>')
    .description(
      'publish a local port through several providers at once, keep each alive, and report the public addresses',
    )
    .requiredOption('--via <providers>', 'comma-separated provider ids, e.g. cloudflare,ngrok,tailscale')
    .option('--host <host>', 'the local service host (default 127.0.0.1)')
    .option(
      '--resume',
      'run a relay in front of the port and publish the relay instead (clients set resume: in tunnelmux.yaml)',
    )
    .option('--key-file <file>', 'the shared session key for --resume (tunnelmux keygen; mode 0600)')
    .option(
      '-c, --config <file>',
      "config for plugins, failover and each provider's options (expose.options)",
    )
    .option('--name <name>', 'instance name, for the control socket (default "expose")')
    .option('--socket <file>', 'control socket path (default $XDG_RUNTIME_DIR/tunnelmux/<name>.sock)')
    .option(
      '--metrics-listen <addr>',
      'serve Prometheus /metrics here (loopback only unless --metrics-public)',
    )
    .option('--metrics-public', 'allow --metrics-listen on a non-loopback address')
    .option('--json', 'print events as NDJSON (public-url events carry each address)')
    .addHelpText(
      'after',
      `
Each provider gets one expose path with the same id as the provider; its public address is printed as soon as it
is known (a public-url event), shown by \`tunnelmux status --name expose\`, and withdrawn when tunnelmux stops
(Ctrl-C, SIGTERM, or even SIGKILL). Provider options come from the config's expose section:

  expose:
    port: 22
    via: [cloudflare, ngrok, tailscale]
    options:
      cloudflare: { tunnelTokenEnv: TUNNEL_TOKEN }
      ngrok: { authtokenEnv: NGROK_AUTHTOKEN }

Examples:
  $ tunnelmux expose 22 --via ngrok
  $ tunnelmux expose 22 --via cloudflare,ngrok,tailscale --config server.yaml
  $ tunnelmux expose 22 --via ngrok,tailscale --resume --key-file session.key
  $ tunnelmux expose 8080 --via cloudflare --json | jq 'select(.type == "public-url")'`,
    )
    .action(
      lazy(
        () => import('./commands/expose'),
        (m) => m.expose,
      ),
    );

  program
    .command('keygen <file>')
    .description(
      'write a new random session key (mode 0600) for `relay --key-file` and `resume: { keyFile }`',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nThe key is never printed. It refuses to overwrite an existing file.\n\nExamples:\n  $ tunnelmux keygen session.key',
    )
    .action(
      lazy(
        () => import('./commands/keygen'),
        (m) => m.keygen,
      ),
    );

  program
    .command('relay <target>')
    .description(
      'serve resumable sessions in front of <target> (host:port): sessions survive the death of a path',
    )
    .requiredOption('-l, --listen <addr>', 'where paths reach the relay, e.g. 127.0.0.1:7022')
    .requiredOption('--key-file <file>', 'the shared session key (tunnelmux keygen)')
    .option('--window <duration>', 'how long a detached session keeps its target connection (default 60s)')
    .option(
      '--metrics-listen <addr>',
      'serve Prometheus /metrics here (loopback only unless --metrics-public)',
    )
    .option('--metrics-public', 'allow --metrics-listen on a non-loopback address')
    .option('--json', 'print events as NDJSON')
    .option('--name <name>', 'instance name, for the control socket (default "relay")')
    .option('--socket <file>', 'control socket path (default $XDG_RUNTIME_DIR/tunnelmux/<name>.sock)')
    .addHelpText(
      'after',
      '\nAsk it with `tunnelmux status --name relay` (or `events --follow`, `metrics --format prometheus`).\n\nProtocol and threat model: docs/sessions.md.\n\nExamples:\n  $ tunnelmux keygen session.key\n  $ tunnelmux relay 127.0.0.1:22 --listen 127.0.0.1:7022 --key-file session.key',
    )
    .action(
      lazy(
        () => import('./commands/relay'),
        (m) => m.relay,
      ),
    );

  controlOptions(program.command('status'))
    .description('state of every path of the running instance')
    .addHelpText('after', '\nExamples:\n  $ tunnelmux status\n  $ tunnelmux status --json | jq .primary')
    .action(
      lazy(
        () => import('./commands/query'),
        (m) => m.status,
      ),
    );

  controlOptions(program.command('dashboard'))
    .description("the running instance's dashboard address, with its token (--open: open it in a browser)")
    .option('--open', 'open the address in the default browser')
    .addHelpText(
      'after',
      '\nThe instance must run with `up --dashboard` (or `dashboard:` in its config).\n\n' +
        'Examples:\n  $ tunnelmux dashboard\n  $ tunnelmux dashboard --open\n  $ tunnelmux dashboard --json | jq -r .url',
    )
    .action(
      lazy(
        () => import('./commands/dashboard'),
        (m) => m.dashboard,
      ),
    );

  controlOptions(program.command('list'))
    .description('the paths of the running instance, one per line')
    .action(
      lazy(
        () => import('./commands/query'),
        (m) => m.list,
      ),
    );

  controlOptions(program.command('metrics'))
    .description('metrics of the running instance')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'prometheus']))
    .addHelpText('after', '\nExamples:\n  $ tunnelmux metrics\n  $ tunnelmux metrics --format prometheus')
    .action(
      lazy(
        () => import('./commands/query'),
        (m) => m.metrics,
      ),
    );

  controlOptions(program.command('events'))
    .description('recent events of the running instance; --follow streams new ones')
    .option('-f, --follow', 'keep streaming until Ctrl-C')
    .option('-t, --type <types...>', 'only these event types (e.g. failover primary-change)')
    .option('-n, --limit <n>', 'how many recent events to show first', '50')
    .option('-a, --all', 'include probes, metrics and debug logs (left out unless --type names them)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ tunnelmux events\n  $ tunnelmux events --follow --type failover primary-change\n  $ tunnelmux events -f --json',
    )
    .action(
      lazy(
        () => import('./commands/query'),
        (m) => m.events,
      ),
    );

  serviceOption(controlOptions(program.command('primary')))
    .description('pin a connected path as primary until it goes down, or --clear the pin')
    .argument('[path]', 'path id')
    .option('--clear', 'remove the pin; the best healthy path becomes primary')
    .addHelpText(
      'after',
      '\nExamples:\n  $ tunnelmux primary cf\n  $ tunnelmux primary --clear\n  $ tunnelmux primary ts --service db',
    )
    .action(
      lazy(
        () => import('./commands/query'),
        (m) => m.primary,
      ),
    );

  serviceOption(controlOptions(program.command('failover')))
    .description('turn automatic failover on or off')
    .argument('<on|off>', 'on or off')
    .addHelpText('after', '\nExamples:\n  $ tunnelmux failover off\n  $ tunnelmux failover on')
    .action(
      lazy(
        () => import('./commands/query'),
        (m) => m.failover,
      ),
    );

  serviceOption(controlOptions(program.command('restart')))
    .description('close and reopen one path')
    .argument('<path>', 'path id')
    .action(
      lazy(
        () => import('./commands/query'),
        (m) => m.restart,
      ),
    );

  serviceOption(controlOptions(program.command('stop')))
    .description('stop one path (it stays listed as disconnected; restart brings it back)')
    .argument('<path>', 'path id')
    .action(
      lazy(
        () => import('./commands/query'),
        (m) => m.stop,
      ),
    );

  controlOptions(program.command('reload'))
    .description(
      'make the running instance read its config again and apply only what changed (same as SIGHUP)',
    )
    .addHelpText(
      'after',
      `
The new config is checked first: an invalid one is refused with file:line:col problems (exit 2) and nothing
changes. Then added services and paths start; removed ones leave rotation at once and drain (bounded by
drain:, default 30s) before they stop; a changed path starts before the old one drains; failover settings
apply without a restart; a new listen address is bound before the old one stops accepting. What could not
be applied is listed with why (exit 1); the rest stays applied.

Examples:
  $ tunnelmux reload
  $ tunnelmux reload --json | jq .changed`,
    )
    .action(
      lazy(
        () => import('./commands/reload'),
        (m) => m.reload,
      ),
    );

  historyOptions(program.command('history'))
    .description(
      'events recorded by `up` (they survive restarts), newest last; --follow goes on with new ones',
    )
    .option('--since <when>', 'from this long ago (24h, 7d) or this date (2026-11-30T08:00Z)', '24h')
    .option('--until <when>', 'up to this long ago or this date (default: now)')
    .option('--service <name>', 'only this service')
    .option('--path <id>', 'only this path (a failover or primary change names two)')
    .option(
      '-t, --type <types...>',
      'only these event types, comma- or space-separated (failover,primary-change)',
    )
    .option('-n, --limit <n>', 'only the newest n events of the range')
    .option(
      '-f, --follow',
      'then print new events as `up` writes them (reads the file every second) until Ctrl-C',
    )
    .addHelpText('after', HISTORY_HELP)
    .action(
      lazy(
        () => import('./commands/history'),
        (m) => m.history,
      ),
    );

  historyOptions(program.command('report'))
    .description('availability, failovers, outages, MTTR and latency per service and path, from the history')
    .option('--since <when>', 'from this long ago (7d, 24h) or this date (2026-11-01)', '7d')
    .option('--until <when>', 'up to this long ago or this date (default: now)')
    .option('--service <name>', 'only this service')
    .addHelpText('after', REPORT_HELP)
    .action(
      lazy(
        () => import('./commands/report'),
        (m) => m.report,
      ),
    );

  program
    .command('providers')
    .description('provider packages found (from their manifests; nothing is imported unless --detect)')
    .option('-c, --config <file>', 'config whose plugins and folder to search too')
    .option('--detect', 'also load each provider and look for its tool and version')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ tunnelmux providers\n  $ tunnelmux providers --detect --json')
    .action(
      lazy(
        () => import('./commands/providers'),
        (m) => m.providers,
      ),
    );

  program
    .command('doctor')
    .description(
      'check the config, providers, their tools and the listen port, and say how to fix each problem',
    )
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print JSON')
    .action(
      lazy(
        () => import('./commands/doctor'),
        (m) => m.doctor,
      ),
    );

  program
    .command('init')
    .description('write a tunnelmux.yaml interactively')
    .option('-c, --config <file>', 'where to write it', 'tunnelmux.yaml')
    .option('-y, --yes', 'accept the defaults without asking (non-interactive)')
    .option('--force', 'overwrite an existing file')
    .option(
      '--services <names>',
      'write a config with several services (comma-separated names such as ssh,db,web), each with its own front door',
    )
    .option(
      '--ssh-config',
      "print an ~/.ssh/config entry (with HostKeyAlias) for the config's front door; writes nothing",
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ tunnelmux init\n  $ tunnelmux init --yes\n  $ tunnelmux init --yes --services ssh,db\n  $ tunnelmux init --ssh-config >> ~/.ssh/config',
    )
    .action(
      lazy(
        () => import('./commands/init'),
        (m) => m.init,
      ),
    );

  const plugins = program.command('plugins').description('manage globally installed provider plugins');
  plugins
    .command('list')
    .description('plugins in the user plugin folder')
    .option('--json', 'print JSON')
    .action(
      lazy(
        () => import('./commands/plugins'),
        (m) => m.list,
      ),
    );
  plugins
    .command('add')
    .description('install a provider package into the user plugin folder (npm install --prefix)')
    .argument('<packages...>', 'npm package specs, e.g. @tunnelmux/provider-ngrok')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ tunnelmux plugins add @tunnelmux/provider-ngrok\n  $ tunnelmux plugins add ./my-provider.tgz',
    )
    .action(
      lazy(
        () => import('./commands/plugins'),
        (m) => m.add,
      ),
    );
  plugins
    .command('remove')
    .description('uninstall provider packages from the user plugin folder')
    .argument('<packages...>', 'package names')
    .option('--json', 'print JSON')
    .action(
      lazy(
        () => import('./commands/plugins'),
        (m) => m.remove,
      ),
    );

  const service = program
    .command('service')
    .description('run tunnelmux as a service: a systemd unit (Linux) or a launchd job (macOS)');
  const serviceOptions = (command: Command, user: string) =>
    command
      .option('--user', user)
      .option('-c, --config <file>', 'the config the service runs (default: tunnelmux.yaml/.yml/.json here)')
      .option('--name <name>', 'instance name (default: the config\'s name, else "default")')
      .option('--json', 'print JSON')
      .addOption(new Option('--platform <platform>').choices(['linux', 'darwin']).hideHelp());
  serviceOptions(
    service
      .command('install')
      .description(
        'write a service that runs `tunnelmux up --config <absolute path>` and restarts it on failure; prints how to enable it',
      ),
    'a service of your own (systemd --user, a LaunchAgent) instead of a system one (which needs root)',
  )
    .option('--dry-run', 'say what would be written, write nothing')
    .option('--print', 'print the unit or plist, write nothing')
    .option('--force', 'replace an existing, different file')
    .addHelpText(
      'after',
      `
Linux: ~/.config/systemd/user/tunnelmux[-<name>].service (--user) or /etc/systemd/system/; a system unit is
sandboxed (ProtectSystem=strict, ProtectHome=read-only, PrivateTmp, state in /var/lib/tunnelmux, control socket
in /run/tunnelmux). macOS: ~/Library/LaunchAgents (--user) or /Library/LaunchDaemons/dev.tunnelmux.<name>.plist.
Nothing is started: the systemctl or launchctl commands to run are printed.

Examples:
  $ tunnelmux service install --user --config ~/tunnels/devbox.yaml
  $ tunnelmux service install --user --print
  $ sudo tunnelmux service install --config /etc/tunnelmux/tunnelmux.yaml`,
    )
    .action(
      lazy(
        () => import('./commands/service'),
        (m) => m.install,
      ),
    );
  serviceOptions(
    service.command('uninstall').description('remove the file `service install` wrote'),
    'the service of your own, not the system one',
  )
    .option('--dry-run', 'say what would be removed, remove nothing')
    .option('--force', 'remove the file even if tunnelmux did not write it')
    .action(
      lazy(
        () => import('./commands/service'),
        (m) => m.uninstall,
      ),
    );
  serviceOptions(
    service
      .command('status')
      .description('whether the service is installed and, when systemctl answers, whether it is active'),
    'the service of your own, not the system one',
  ).action(
    lazy(
      () => import('./commands/service'),
      (m) => m.status,
    ),
  );

  program
    .command('demo')
    .description(
      'a self-contained failover demo: stand-in paths, client load, scripted faults, no tunnel tools',
    )
    .option('--json', 'print events as NDJSON')
    .action(
      lazy(
        () => import('./commands/demo'),
        (m) => m.demo,
      ),
    );

  for (const command of [program, ...program.commands, ...plugins.commands, ...service.commands])
    command.exitOverride();
  return program;
}

/** Run the CLI; resolves with the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with exit code 0; anything else commander refused is a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportError(error, json);
  }
}
