import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { providerDependenciesOf, readManifest, readPackageJson } from '../discovery/manifest';
import { userPluginDir } from '../discovery/sources';
import { CliError, usageError } from '../util/errors';
import { colors, printJson, table } from '../util/output';

/** The user plugin folder, made an npm project (so `npm install --prefix` keeps a package.json there). */
function pluginDir(): string {
  const dir = userPluginDir();
  mkdirSync(dir, { recursive: true });
  const manifest = path.join(dir, 'package.json');
  if (!existsSync(manifest)) {
    writeFileSync(
      manifest,
      `${JSON.stringify({ name: 'tunnelmux-user-plugins', private: true, dependencies: {} }, null, 2)}\n`,
    );
  }
  return dir;
}

// A registry that never answers must not hang `plugins add` forever.
const NPM_TIMEOUT_MS = 10 * 60_000;

async function npm(args: string[], json: boolean): Promise<void> {
  const { execa } = await import('execa');
  const command = process.env.TUNNELMUX_NPM ?? 'npm';
  const result = await execa(command, args, {
    reject: false,
    stdin: 'ignore',
    stdout: json ? 'pipe' : 'inherit',
    stderr: json ? 'pipe' : 'inherit',
    timeout: NPM_TIMEOUT_MS,
    // npm's own update check is one more registry request that a plugin install does not need.
    env: { npm_config_update_notifier: 'false' },
  });
  if (result.timedOut) {
    throw new CliError(
      `[tunnelmux] \`${command} ${args.join(' ')}\` did not finish within ${NPM_TIMEOUT_MS / 60_000} minutes; ` +
        'check that the registry answers (`npm config get registry`, `npm ping`) and try again',
    );
  }
  if (result.failed) {
    throw new CliError(
      `[tunnelmux] \`${command} ${args.join(' ')}\` failed (${result.shortMessage})` +
        (json ? `: ${String(result.stderr).slice(-500)}` : ''),
    );
  }
}

/** `tunnelmux plugins list`. */
export async function list(options: { json?: boolean }): Promise<void> {
  const dir = userPluginDir();
  const entries = providerDependenciesOf(dir).map((dep) => {
    const manifest = dep.dir ? readManifest(dep.dir) : { error: 'not installed' };
    return 'error' in manifest
      ? { package: dep.name, ok: false, problem: manifest.error }
      : { package: dep.name, ok: true, id: manifest.id, version: manifest.version };
  });
  const others = Object.keys(readPackageJson(dir)?.dependencies ?? {}).filter(
    (name) => !entries.some((e) => e.package === name),
  );
  if (options.json) {
    printJson({ dir, plugins: entries, other: others });
    return;
  }
  process.stdout.write(`user plugin folder: ${dir}\n`);
  if (entries.length === 0)
    process.stdout.write('no plugins; add one with tunnelmux plugins add @tunnelmux/provider-ssh\n');
  else {
    const rows = entries.map((e) => [
      e.package,
      e.ok ? (e.id ?? '') : colors.red('?'),
      e.ok ? (e.version ?? '') : colors.red(e.problem ?? ''),
    ]);
    process.stdout.write(`${table(rows, ['PACKAGE', 'ID', 'VERSION'])}\n`);
  }
  for (const name of others)
    process.stdout.write(
      colors.yellow(`${name} is installed there but is not named like a provider package\n`),
    );
}

/** `tunnelmux plugins add <pkg...>`: npm install --prefix <plugin dir>. */
export async function add(packages: string[], options: { json?: boolean }): Promise<void> {
  const dir = pluginDir();
  await npm(['install', '--prefix', dir, '--no-fund', '--no-audit', ...packages], Boolean(options.json));
  const installed = providerDependenciesOf(dir);
  const report = installed.map((dep) => {
    const manifest = dep.dir ? readManifest(dep.dir) : { error: 'not installed' };
    return 'error' in manifest
      ? { package: dep.name, problem: manifest.error }
      : { package: dep.name, id: manifest.id, version: manifest.version };
  });
  if (options.json) printJson({ dir, plugins: report });
  else
    for (const entry of report)
      process.stdout.write(
        'id' in entry
          ? `${colors.green('✓')} ${entry.package} provides "${entry.id}"\n`
          : `${colors.yellow('!')} ${entry.package}: ${entry.problem}\n`,
      );
}

/** `tunnelmux plugins remove <pkg...>`. */
export async function remove(packages: string[], options: { json?: boolean }): Promise<void> {
  const dir = userPluginDir();
  const known = Object.keys(readPackageJson(dir)?.dependencies ?? {});
  const missing = packages.filter((name) => !known.includes(name));
  if (missing.length > 0) {
    throw usageError(
      `[tunnelmux] not installed in ${dir}: ${missing.join(', ')}${known.length ? `; installed: ${known.join(', ')}` : ''}`,
    );
  }
  await npm(['uninstall', '--prefix', dir, '--no-fund', '--no-audit', ...packages], Boolean(options.json));
  if (options.json) printJson({ dir, removed: packages });
  else process.stdout.write(`${colors.green('removed')} ${packages.join(', ')}\n`);
}
