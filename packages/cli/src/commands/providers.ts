import { findConfig, findConfigQuietly } from '../config/find';
import { discover, SOURCE_LABEL } from '../discovery/discover';
import { colors, printJson, table } from '../util/output';

export interface ProvidersOptions {
  config?: string;
  detect?: boolean;
  json?: boolean;
}

/** `tunnelmux providers`: what discovery finds, from manifests alone unless --detect. */
export async function providers(options: ProvidersOptions): Promise<void> {
  const file = options.config ? findConfig(options.config) : findConfigQuietly();
  let configDir: string | undefined;
  let plugins: string[] | undefined;
  if (file) {
    // The config only adds places to look; the YAML parser loads only when there is one.
    const { loadConfig } = await import('../config/load');
    try {
      const loaded = loadConfig(file);
      configDir = loaded.dir;
      plugins = loaded.config.plugins;
    } catch (error) {
      if (options.config) throw error;
    }
  }
  const discovery = discover({ configDir, plugins });
  const found = [...discovery.providers.values()];
  // What the manifests alone say, without importing anything: wrong API version, core peer range not met.
  const { coreVersion, manifestProblems, MANIFEST_API_VERSION } = await import('../discovery/manifest');
  // The core range needs semver; only --detect, which loads the providers anyway, pays for that import.
  const satisfies = options.detect ? (await import('semver')).default.satisfies : undefined;
  const problems = new Map(
    found.map((c) => [c.id, manifestProblems(c, MANIFEST_API_VERSION, coreVersion(), satisfies)]),
  );
  const tools = new Map<
    string,
    { available: boolean; version?: string; path?: string; detail?: string; install?: string }
  >();
  const loadErrors: { id: string; message: string }[] = [];
  if (options.detect) {
    const { loadProviders } = await import('../discovery/load');
    const { detectProvider } = await import('../discovery/detect');
    const { loaded, failures } = await loadProviders(
      discovery,
      found.map((c) => c.id),
    );
    for (const failure of failures) loadErrors.push({ id: failure.id, message: failure.message });
    await Promise.all(
      [...loaded.values()].map(async (entry) =>
        tools.set(entry.id, await detectProvider(entry.provider, process.env)),
      ),
    );
  }
  if (options.json) {
    printJson({
      providers: found.map((c) => ({
        id: c.id,
        package: c.packageName,
        version: c.version,
        source: c.source,
        // Where it was found: the node_modules folder, package.json or plugin entry, and what that place is.
        foundIn: c.foundIn,
        foundVia: SOURCE_LABEL[c.source],
        dir: c.dir,
        apiVersion: c.apiVersion,
        coreRange: c.coreRange,
        warnings: problems.get(c.id)?.warnings ?? [],
        ...(problems.get(c.id)?.error ? { problem: problems.get(c.id)?.error } : {}),
        ...(options.detect ? { tool: tools.get(c.id) } : {}),
      })),
      modules: discovery.modules.map((m) => ({ file: m.file, spec: m.spec })),
      shadowed: discovery.shadowed.map((c) => ({
        id: c.id,
        package: c.packageName,
        version: c.version,
        dir: c.dir,
      })),
      skipped: discovery.skipped,
      loadErrors,
      looked: discovery.looked,
    });
    return;
  }
  if (found.length === 0 && discovery.modules.length === 0) {
    process.stdout.write(
      `no provider package found.\nlooked in: ${discovery.looked.join(', ')}\n` +
        'install one, e.g. npm install @tunnelmux/provider-ssh (next to your config) or tunnelmux plugins add @tunnelmux/provider-ssh\n',
    );
    return;
  }
  const rows = found.map((c) => {
    const tool = tools.get(c.id);
    return [
      c.id,
      `${c.packageName}@${c.version}`,
      SOURCE_LABEL[c.source],
      ...(options.detect
        ? [
            tool
              ? tool.available
                ? colors.green(`${tool.version ?? 'found'}`)
                : colors.red(tool.detail ?? 'missing')
              : colors.red('did not load'),
          ]
        : []),
    ];
  });
  for (const m of discovery.modules)
    rows.push([colors.dim('?'), m.file, SOURCE_LABEL.config, ...(options.detect ? [''] : [])]);
  process.stdout.write(
    `${table(rows, ['ID', 'PACKAGE', 'FOUND IN', ...(options.detect ? ['TOOL'] : [])])}\n`,
  );
  for (const c of discovery.shadowed)
    process.stdout.write(
      colors.dim(`(${c.packageName}@${c.version} in ${c.dir} is shadowed by an earlier find)\n`),
    );
  for (const s of discovery.skipped) process.stdout.write(colors.yellow(`skipped ${s.where}: ${s.reason}\n`));
  for (const [id, problem] of problems) {
    if (problem.error) process.stdout.write(colors.red(`${id}: ${problem.error}\n`));
    for (const warning of problem.warnings) process.stdout.write(colors.yellow(`${id}: ${warning}\n`));
  }
  for (const e of loadErrors) process.stdout.write(colors.red(`${e.id}: ${e.message}\n`));
  if (!options.detect)
    process.stdout.write(colors.dim('add --detect to look for each tool and its version\n'));
}
