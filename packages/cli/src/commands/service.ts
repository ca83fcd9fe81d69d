import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findConfig, findConfigQuietly } from '../config/find';
import { loadConfig } from '../config/load';
import { launchctlHints, launchdLabel, launchdPlist, plistPath } from '../service/launchd';
import {
  ephemeralBin,
  type ServiceSpec,
  serviceName,
  systemctlHints,
  systemdUnit,
  unitPath,
} from '../service/systemd';
import { CliError, messageOf, usageError } from '../util/errors';
import { colors, printJson } from '../util/output';

export interface ServiceOptions {
  user?: boolean;
  config?: string;
  name?: string;
  dryRun?: boolean;
  print?: boolean;
  force?: boolean;
  json?: boolean;
  /** Hidden: write the other platform's file (tests of the launchd path on Linux). */
  platform?: string;
}

// Every file we write starts with this (a comment in a unit, the label prefix in a plist): uninstall checks it.
const MARKER = 'tunnelmux service install';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

type Kind = 'systemd' | 'launchd';

function kindOf(options: ServiceOptions): Kind {
  const platform = options.platform ?? process.platform;
  if (platform === 'linux') return 'systemd';
  if (platform === 'darwin') return 'launchd';
  throw usageError(
    `[tunnelmux] service install supports Linux (systemd) and macOS (launchd), not ${JSON.stringify(platform)}; run \`tunnelmux up --config FILE\` under your own supervisor`,
  );
}

/** The instance name: --name, else the config's (when one is found), else "default". */
function nameOf(options: ServiceOptions, configName: string | undefined): string {
  const name = options.name ?? configName ?? 'default';
  if (!NAME.test(name)) {
    throw usageError(
      `[tunnelmux] --name must be letters, digits, dot, dash or underscore (at most 63), got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

function fileOf(kind: Kind, spec: Pick<ServiceSpec, 'name' | 'user'>): string {
  return kind === 'systemd' ? unitPath(spec) : plistPath(spec);
}

function hintsOf(kind: Kind, spec: Pick<ServiceSpec, 'name' | 'user'>, file: string): string[] {
  return kind === 'systemd' ? systemctlHints(spec) : launchctlHints(spec, file);
}

/** `tunnelmux service install`: write a systemd unit or launchd plist that runs `up --config <absolute>`. */
export async function install(options: ServiceOptions): Promise<void> {
  const kind = kindOf(options);
  const config = findConfig(options.config);
  // A service that cannot start is worse than none: the config must load now.
  const loaded = loadConfig(config);
  const user = Boolean(options.user);
  const spec: ServiceSpec = {
    name: nameOf(options, loaded.config.name),
    explicitName: options.name !== undefined,
    node: process.execPath,
    bin: path.resolve(process.argv[1] ?? ''),
    config,
    user,
  };
  const file = fileOf(kind, spec);
  const ephemeral = ephemeralBin(spec.bin);
  const warning = ephemeral
    ? `[tunnelmux] the service would run ${spec.bin}, but ${ephemeral}; install the CLI for good (npm install -g @tunnelmux/cli) and run service install from there`
    : undefined;
  const content = kind === 'systemd' ? systemdUnit(spec) : withMarker(launchdPlist(spec));
  const commands = hintsOf(kind, spec, file);
  const dryRun = Boolean(options.dryRun || options.print);
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const unchanged = existing === content;
  if (!dryRun && existing !== undefined && !unchanged && !options.force) {
    throw new CliError(
      `[tunnelmux] ${file} already exists with different content; compare it with \`tunnelmux service install --print${user ? ' --user' : ''}\`, then add --force to replace it (or --name for a second service)`,
    );
  }
  if (!dryRun && !unchanged) {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content, { mode: 0o644 });
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new CliError(
        `[tunnelmux] cannot write ${file}: ${messageOf(error)}${
          !user && (code === 'EACCES' || code === 'EPERM')
            ? '; a system service needs root (sudo tunnelmux service install ...), or add --user for a service of your own'
            : ''
        }`,
        1,
        { cause: error },
      );
    }
  }
  const result = {
    action: 'install',
    kind,
    scope: user ? 'user' : 'system',
    name: spec.name,
    unit: kind === 'systemd' ? `${serviceName(spec.name)}.service` : launchdLabel(spec.name),
    file,
    written: !dryRun && !unchanged,
    unchanged,
    command: [spec.node, spec.bin, 'up', '--config', spec.config],
    commands,
    ...(dryRun ? { content } : {}),
    ...(warning ? { warning } : {}),
  };
  if (warning && !options.json) process.stderr.write(`${colors.yellow(warning)}\n`);
  if (options.json) return printJson(result);
  if (options.print) {
    process.stdout.write(content);
    return;
  }
  const verb = dryRun ? 'would write' : unchanged ? 'already installed, unchanged:' : 'wrote';
  process.stdout.write(
    `${verb} ${file}\nruns: ${result.command.join(' ')}\n\n` +
      `${dryRun ? 'then, to' : 'To'} enable and start it:\n${commands.map((c) => `  ${c}`).join('\n')}\n`,
  );
}

/** `tunnelmux service uninstall`: remove the file `install` wrote (only one it wrote). */
export async function uninstall(options: ServiceOptions): Promise<void> {
  const kind = kindOf(options);
  const { file, spec } = locate(kind, options);
  const unit = kind === 'systemd' ? `${serviceName(spec.name)}.service` : launchdLabel(spec.name);
  const before =
    kind === 'systemd'
      ? [`${spec.user ? 'systemctl --user' : 'sudo systemctl'} disable --now ${unit}`]
      : [`${spec.user ? '' : 'sudo '}launchctl bootout ${spec.user ? 'gui/$(id -u)' : 'system'}/${unit}`];
  const after =
    kind === 'systemd' ? [`${spec.user ? 'systemctl --user' : 'sudo systemctl'} daemon-reload`] : [];
  if (!existsSync(file)) {
    const result = { action: 'uninstall', kind, name: spec.name, file, removed: false };
    if (options.json) return printJson(result);
    process.stdout.write(`not installed: ${file} does not exist\n`);
    return;
  }
  if (!readFileSync(file, 'utf8').includes(MARKER) && !options.force) {
    throw new CliError(
      `[tunnelmux] ${file} was not written by \`tunnelmux service install\`; remove it yourself, or add --force`,
    );
  }
  if (!options.dryRun) {
    try {
      rmSync(file);
    } catch (error) {
      throw new CliError(`[tunnelmux] cannot remove ${file}: ${messageOf(error)}`, 1, { cause: error });
    }
  }
  const result = {
    action: 'uninstall',
    kind,
    name: spec.name,
    file,
    removed: !options.dryRun,
    commands: [...before, ...after],
  };
  if (options.json) return printJson(result);
  process.stdout.write(
    `${options.dryRun ? 'would remove' : 'removed'} ${file}\nStop it if it still runs (before or after, as you like):\n${before
      .concat(after)
      .map((c) => `  ${c}`)
      .join('\n')}\n`,
  );
}

/** `tunnelmux service status`: installed or not, and systemd's view of it when systemctl answers. */
export async function status(options: ServiceOptions): Promise<void> {
  const kind = kindOf(options);
  const { file, spec } = locate(kind, options);
  const installed = existsSync(file);
  const unit = kind === 'systemd' ? `${serviceName(spec.name)}.service` : launchdLabel(spec.name);
  const state = installed && kind === 'systemd' ? await systemdState(unit, spec.user) : undefined;
  const result = {
    kind,
    scope: spec.user ? 'user' : 'system',
    name: spec.name,
    unit,
    file,
    installed,
    ...(state ?? {}),
  };
  if (options.json) return printJson(result);
  const lines = [
    `${unit}: ${installed ? colors.green('installed') : colors.yellow('not installed')} (${file})`,
  ];
  if (state?.active)
    lines.push(`active: ${state.active}${state.enabled ? `, enabled: ${state.enabled}` : ''}`);
  else if (state?.systemctl) lines.push(colors.dim(`systemd state unknown: ${state.systemctl}`));
  if (!installed)
    lines.push(`install it with: tunnelmux service install${spec.user ? ' --user' : ''} --config FILE`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function locate(kind: Kind, options: ServiceOptions) {
  // The name may come from the config, but uninstall and status work without one.
  let configName: string | undefined;
  const config = options.config ? findConfig(options.config) : findConfigQuietly();
  if (config && !options.name) {
    try {
      configName = loadConfig(config).config.name;
    } catch {
      configName = undefined;
    }
  }
  const spec = { name: nameOf(options, configName), user: Boolean(options.user) };
  return { spec, file: fileOf(kind, spec) };
}

function withMarker(plist: string): string {
  return plist.replace(
    '<plist',
    `<!-- Written by \`${MARKER}\`; \`tunnelmux service uninstall\` removes it. -->\n<plist`,
  );
}

/** `systemctl is-active` and `is-enabled`, bounded; TUNNELMUX_SYSTEMCTL picks the binary ("" skips it). */
async function systemdState(
  unit: string,
  user: boolean,
): Promise<{ active?: string; enabled?: string; systemctl?: string }> {
  const systemctl = process.env.TUNNELMUX_SYSTEMCTL ?? 'systemctl';
  if (systemctl === '') return { systemctl: 'not asked (TUNNELMUX_SYSTEMCTL is empty)' };
  const { execa } = await import('execa');
  const ask = async (verb: string) => {
    const result = await execa(systemctl, [...(user ? ['--user'] : []), verb, unit], {
      reject: false,
      timeout: 5000,
      stdin: 'ignore',
    });
    const answer = result.stdout.trim();
    // is-active prints the state and exits non-zero for anything but active; a broken bus prints nothing.
    if (/^[a-z-]+$/.test(answer)) return { answer };
    return { error: (result.stderr.trim() || result.shortMessage || 'no answer').split('\n')[0] ?? '' };
  };
  const active = await ask('is-active');
  if ('error' in active) return { systemctl: active.error };
  const enabled = await ask('is-enabled');
  return { active: active.answer, ...('answer' in enabled ? { enabled: enabled.answer } : {}) };
}
