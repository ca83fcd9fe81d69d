import net from 'node:net';
import { findConfig } from '../config/find';
import { ConfigFileError, loadConfig } from '../config/load';
import { preflight } from '../config/preflight';
import { resumeFindings } from '../config/resume-check';
import { detectProvider } from '../discovery/detect';
import { discover } from '../discovery/discover';
import { installAdvice, loadProviders } from '../discovery/load';
import { checkOptions } from '../engine';
import { parseAddress } from '../util/address';
import { messageOf } from '../util/errors';
import { colors, printJson } from '../util/output';

/** One line of the doctor's report. */
export interface Check {
  check: string;
  ok: boolean;
  detail: string;
  /** What to do about it, when not ok. */
  fix?: string;
  warning?: boolean;
  /** How many problems the detail lists (a config check can list several); 1 when absent. */
  problems?: number;
}

// Failures fixed by editing the config: exit 2, like any config error.
const CONFIG_CHECKS = new Set(['config', 'path options', 'placeholder']);

/** `tunnelmux doctor`: config, providers, tools and listen port; every problem comes with its fix. */
export async function doctor(options: { config?: string; json?: boolean }): Promise<void> {
  const checks: Check[] = [];
  let file: string | undefined;
  try {
    file = findConfig(options.config);
  } catch (error) {
    checks.push({
      check: 'config',
      ok: false,
      detail: messageOf(error),
      fix: 'run `tunnelmux init` or pass --config FILE',
    });
  }
  let loaded: ReturnType<typeof loadConfig> | undefined;
  if (file) {
    try {
      loaded = loadConfig(file);
      checks.push({
        check: 'config',
        ok: true,
        detail: `${file} is valid (${loaded.config.paths.length} paths)`,
      });
    } catch (error) {
      checks.push({
        check: 'config',
        ok: false,
        detail: messageOf(error),
        fix: error instanceof ConfigFileError ? 'edit the lines named above' : undefined,
        problems: error instanceof ConfigFileError ? error.problems.length : 1,
      });
    }
  }
  if (loaded) {
    const { config } = loaded;
    const discovery = discover({ configDir: loaded.dir, plugins: config.plugins });
    for (const skipped of discovery.skipped) {
      checks.push({
        check: 'discovery',
        ok: false,
        warning: true,
        detail: `${skipped.where}: ${skipped.reason}`,
      });
    }
    const ids = [...new Set(config.paths.map((p) => p.provider))];
    const { loaded: providers, failures } = await loadProviders(discovery, ids);
    for (const failure of failures) {
      checks.push({
        check: `provider ${failure.id}`,
        ok: false,
        detail: `${failure.message}; looked in ${failure.looked.join(', ') || 'nowhere'}`,
        fix: failure.install,
      });
    }
    for (const id of ids) {
      const entry = providers.get(id);
      if (!entry) continue;
      checks.push({
        check: `provider ${id}`,
        ok: true,
        detail: `${entry.packageName ? `${entry.packageName}@${entry.version}` : entry.where}`,
      });
      for (const warning of entry.warnings)
        checks.push({ check: `provider ${id}`, ok: false, warning: true, detail: warning });
      const bins = new Set(
        config.paths.filter((p) => p.provider === id).map((p) => p.options?.bin as string | undefined),
      );
      for (const bin of bins) {
        const tool = await detectProvider(
          entry.provider,
          process.env,
          typeof bin === 'string' ? bin : undefined,
        );
        const name = entry.provider.binary?.command ?? id;
        checks.push(
          tool.available
            ? { check: `tool ${name}`, ok: true, detail: `${tool.path ?? name} ${tool.version ?? ''}`.trim() }
            : {
                check: `tool ${name}`,
                ok: false,
                detail: tool.detail ?? `${name} is not available`,
                fix: tool.install ?? entry.provider.binary?.install ?? installAdvice(id),
              },
        );
      }
    }
    try {
      await checkOptions(loaded, providers);
      if (providers.size > 0)
        checks.push({ check: 'path options', ok: true, detail: "every path's options are valid" });
    } catch (error) {
      checks.push({
        check: 'path options',
        ok: false,
        detail: messageOf(error),
        fix: 'edit the lines named above',
        problems: error instanceof ConfigFileError ? error.problems.length : 1,
      });
    }
    // What up would trip on that no schema sees: placeholders, unset variables, a front door open to all.
    for (const finding of [...preflight(loaded), ...(await resumeFindings(loaded))]) {
      checks.push({ ...finding, ok: false });
    }
    // Every front door: the single-service form's `listen`, or each service's.
    for (const service of config.services) {
      if (service.listen === undefined) continue;
      const label = service.field.length > 0 ? `listen (${service.name})` : 'listen';
      const field = service.field.length > 0 ? `services.${service.name}.listen` : 'listen';
      let at: { host: string; port: number } | undefined;
      try {
        at = parseAddress(service.listen, field);
      } catch (error) {
        checks.push({ check: label, ok: false, detail: messageOf(error) });
      }
      if (at) {
        const problem = await portFree(at);
        checks.push(
          problem
            ? {
                check: label,
                ok: false,
                detail: `${at.host}:${at.port} is not free: ${problem}`,
                fix: `stop what uses it (ss -ltnp 'sport = :${at.port}'), or pick another port in ${field}:${service.field.length > 0 ? '' : ' / --listen'}`,
              }
            : { check: label, ok: true, detail: `${at.host}:${at.port} is free` },
        );
      }
    }
  }
  const failed = checks.filter((c) => !c.ok && !c.warning);
  const count = failed.reduce((sum, c) => sum + (c.problems ?? 1), 0);
  if (options.json) printJson({ ok: failed.length === 0, problems: count, checks });
  else {
    for (const c of checks) {
      const mark = c.ok ? colors.green('✓') : c.warning ? colors.yellow('!') : colors.red('✗');
      process.stdout.write(`${mark} ${colors.bold(c.check)}: ${c.detail}\n`);
      if (!c.ok && c.fix) process.stdout.write(`  ${colors.cyan('fix:')} ${c.fix}\n`);
    }
    process.stdout.write(
      failed.length === 0
        ? `${colors.green('all good')}\n`
        : `${colors.red(`${count} ${count === 1 ? 'problem' : 'problems'}`)}\n`,
    );
  }
  // A config problem is a usage error; anything else a runtime one.
  if (failed.length > 0) process.exitCode = failed.some((c) => CONFIG_CHECKS.has(c.check)) ? 2 : 1;
}

function portFree(at: { host: string; port: number }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(at.port, at.host, () => server.close(() => resolve(undefined)));
  });
}
