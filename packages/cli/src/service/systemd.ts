import os from 'node:os';
import path from 'node:path';

/** What a service runs and where: everything is an absolute path by now. */
export interface ServiceSpec {
  /** The instance name (`--name`, else the config's, else "default"). */
  name: string;
  /** Passed as `up --name` only when given on the command line. */
  explicitName?: boolean;
  node: string;
  bin: string;
  config: string;
  user: boolean;
}

/** `tunnelmux` for the default instance, `tunnelmux-<name>` for others: the unit name and the launchd label stem. */
export function serviceName(name: string): string {
  return name === 'default' ? 'tunnelmux' : `tunnelmux-${name}`;
}

/** Where the unit goes: `~/.config/systemd/user/` (XDG_CONFIG_HOME honoured) or `/etc/systemd/system/`. */
export function unitPath(
  spec: Pick<ServiceSpec, 'name' | 'user'>,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const file = `${serviceName(spec.name)}.service`;
  if (!spec.user) return path.join('/etc/systemd/system', file);
  const config =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : undefined;
  return path.join(config ?? path.join(env.HOME ?? os.homedir(), '.config'), 'systemd', 'user', file);
}

/** Why `bin` is a poor thing for a service to run (a copy npx or pnpm dlx may delete), or undefined. */
export function ephemeralBin(bin: string): string | undefined {
  const parts = bin.split(/[\\/]/);
  if (parts.includes('_npx')) return 'it is a temporary copy from npx, which npm may delete from its cache';
  if (parts.some((part) => part.startsWith('dlx-'))) return 'it is a temporary copy from pnpm dlx';
  return undefined;
}

/** The command line the service runs. */
export function serviceArgs(spec: ServiceSpec): string[] {
  return [
    spec.node,
    spec.bin,
    'up',
    '--config',
    spec.config,
    ...(spec.explicitName ? ['--name', spec.name] : []),
  ];
}

/**
 * One ExecStart word: `%` and `$` escaped (systemd would expand them), quoted when it holds a space, a quote or a
 * backslash (C-style escapes inside the quotes).
 */
export function quoteWord(word: string): string {
  const escaped = word.replaceAll('%', '%%').replaceAll('$', '$$$$');
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n').replaceAll('\t', '\\t')}"`;
}

/**
 * The unit. A system unit gets the full sandbox (read-only system and home, private /tmp, state in
 * /var/lib/tunnelmux, the control socket in /run/tunnelmux). A user unit keeps only NoNewPrivileges: the
 * mount-namespace options need unprivileged user namespaces in a user manager, and where a kernel disables them
 * the service would not start at all.
 */
export function systemdUnit(spec: ServiceSpec): string {
  const lines = [
    '# Written by `tunnelmux service install`; `tunnelmux service uninstall` removes it.',
    '[Unit]',
    `Description=tunnelmux ${spec.name}: one stable local port over several tunnels`,
    'Documentation=https://www.npmjs.com/package/@tunnelmux/cli',
    'Wants=network-online.target',
    'After=network-online.target',
    // Restarting for ever is the point; systemd's default start limit would give up after 5 quick failures.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=exec',
    `ExecStart=${serviceArgs(spec).map(quoteWord).join(' ')}`,
    // `systemctl reload`: up applies the edited config's difference on SIGHUP, dropping no session.
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=5s',
    // up exits 2 on a config error: restarting cannot fix that.
    'RestartPreventExitStatus=2',
    // up stops every path on SIGTERM; a hung tool gets SIGKILL after this.
    'TimeoutStopSec=30s',
    'NoNewPrivileges=yes',
  ];
  if (!spec.user) {
    lines.push(
      'ProtectSystem=strict',
      // Read-only, not hidden: the config and the plugin folder may live in a home folder.
      'ProtectHome=read-only',
      'PrivateTmp=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectControlGroups=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      // History and other state in /var/lib/tunnelmux, the control socket in /run/tunnelmux (both writable).
      'StateDirectory=tunnelmux',
      'StateDirectoryMode=0700',
      'RuntimeDirectory=tunnelmux',
      'RuntimeDirectoryMode=0700',
      'Environment=XDG_STATE_HOME=%S XDG_RUNTIME_DIR=%t',
    );
  }
  lines.push('', '[Install]', `WantedBy=${spec.user ? 'default.target' : 'multi-user.target'}`, '');
  return lines.join('\n');
}

/** The commands that enable and start the unit, for the user to run. */
export function systemctlHints(spec: Pick<ServiceSpec, 'name' | 'user'>): string[] {
  const ctl = spec.user ? 'systemctl --user' : 'sudo systemctl';
  const unit = `${serviceName(spec.name)}.service`;
  return [
    `${ctl} daemon-reload`,
    `${ctl} enable --now ${unit}`,
    `${spec.user ? 'journalctl --user' : 'sudo journalctl'} -u ${unit} -f`,
    spec.user
      ? 'loginctl enable-linger $USER   # keep it running while you are logged out'
      : `sudo tunnelmux status --socket /run/tunnelmux/${spec.name}.sock`,
  ];
}
