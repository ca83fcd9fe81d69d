import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { type ServiceAnswers, serviceDefaults, servicesConfig } from '../config/init-services';
import { SERVICE_NAME, SERVICE_NAME_EXPECTED } from '../config/services-schema';
import { hostKeyAlias, sshConfigEntry } from '../config/ssh-config';
import { discover } from '../discovery/discover';
import { parseAddress } from '../util/address';
import { CliError, usageError } from '../util/errors';
import { colors, printJson } from '../util/output';

// Starting options per first-party provider. Hosts are reserved example names, which `doctor` reports until
// they are replaced.
const TEMPLATES: Record<string, Record<string, unknown>> = {
  tailscale: { host: 'devbox.example' },
  cloudflare: { hostname: 'ssh.example.com' },
  ngrok: {},
  ssh: { host: 'jump.example.com', user: 'me' },
};
const SHORT_IDS: Record<string, string> = { tailscale: 'ts', cloudflare: 'cf', ngrok: 'ngrok', ssh: 'jump' };

interface Answers {
  listen: string;
  target: string;
  protocol: 'ssh' | 'tcp';
  providers: string[];
  /** Two or more: a `services:` config, one service per entry (`listen`, `target`, `protocol` above unused). */
  services?: ServiceAnswers[];
}

/** `tunnelmux init`: ask a few questions (or take defaults with --yes) and write tunnelmux.yaml. */
export async function init(options: {
  config: string;
  yes?: boolean;
  force?: boolean;
  json?: boolean;
  sshConfig?: boolean;
  /** `--services ssh,db`: a config with these services (each with a starting listen, target and protocol). */
  services?: string;
}): Promise<void> {
  if (options.sshConfig) return printSshConfig(options);
  const serviceNames = options.services === undefined ? undefined : parseServiceNames(options.services);
  const file = path.resolve(options.config);
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw usageError(
      `[tunnelmux] ${file} is a directory; pass the file to write, e.g. --config ${path.join(file, 'tunnelmux.yaml')}`,
    );
  }
  if (existsSync(file) && !options.force) {
    throw usageError(`[tunnelmux] ${file} already exists; pass --force to overwrite it`);
  }
  const installed = [...discover({ configDir: path.dirname(file) }).providers.keys()];
  const defaults: Answers = {
    listen: '127.0.0.1:2222',
    target: 'devbox.example:22',
    protocol: 'ssh',
    providers: installed.length > 0 ? installed : ['tailscale', 'cloudflare', 'ssh'],
    services: serviceNames && serviceNames.length > 1 ? serviceDefaults(serviceNames) : undefined,
  };
  let answers = defaults;
  if (!options.yes) {
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      throw usageError(
        '[tunnelmux] init asks questions on a terminal; pass --yes to write the defaults instead',
      );
    }
    answers = await ask(defaults, installed, serviceNames === undefined);
  }
  const text = render(answers);
  writeFileSync(file, text);
  if (options.json) printJson({ file, config: text });
  else if (answers.services) {
    process.stdout.write(`${colors.green('wrote')} ${file} with ${answers.services.length} services\n`);
    for (const service of answers.services)
      process.stdout.write(`  ${colors.bold(service.name)}: ${service.listen} → ${service.target}\n`);
    process.stdout.write(
      `next: edit the options of each path, then ${colors.bold('tunnelmux doctor')} and ${colors.bold('tunnelmux up')}\n`,
    );
  } else {
    process.stdout.write(`${colors.green('wrote')} ${file}\n`);
    process.stdout.write(
      `next: edit the options of each path, then ${colors.bold('tunnelmux doctor')} and ${colors.bold('tunnelmux up')}\n`,
    );
    const front = parseAddress(answers.listen, 'listen');
    const alias = hostKeyAlias(parseAddress(answers.target, 'target'));
    process.stdout.write(
      `then: ${colors.bold(`ssh -p ${front.port} -o HostKeyAlias=${alias} ${front.host}`)}` +
        ` (HostKeyAlias checks the target's own host key), or add what ${colors.bold('tunnelmux init --ssh-config')} prints to ~/.ssh/config\n`,
    );
  }
}

/** `tunnelmux init --ssh-config`: the ~/.ssh/config entry for this config's front door; writes nothing. */
async function printSshConfig(options: { config: string; json?: boolean }): Promise<void> {
  const { findConfig, loadConfig } = await import('../config/load');
  const loaded = loadConfig(findConfig(options.config));
  const { config } = loaded;
  if (config.listen === undefined) {
    throw usageError(
      `[tunnelmux] ${loaded.file} has no listen: address, so there is no front door to ssh through; add e.g. listen: 127.0.0.1:2222`,
    );
  }
  const listen = parseAddress(config.listen, 'listen');
  if (listen.port === 0) {
    throw usageError(
      `[tunnelmux] ${loaded.locate(['listen'])}: listen uses port 0 (any free port), so ssh_config cannot name it; set a fixed port such as 127.0.0.1:2222`,
    );
  }
  const target = config.target ?? config.paths.find((p) => p.target)?.target;
  if (!target) throw usageError(`[tunnelmux] ${loaded.file} names no target; add target: host:port`);
  const entry = sshConfigEntry(listen, target);
  if (options.json) printJson(entry);
  else process.stdout.write(entry.text);
}

async function ask(defaults: Answers, installed: string[], askServices: boolean): Promise<Answers> {
  const p = await import('@clack/prompts');
  const cancelled = (value: unknown): value is symbol => p.isCancel(value);
  const stop = () => {
    p.cancel('nothing written');
    throw new CliError('[tunnelmux] init cancelled', 1);
  };
  p.intro('tunnelmux init');
  let services = defaults.services;
  if (askServices) {
    const names = await p.text({
      message: 'Services (comma-separated names such as ssh,db,web; one service: leave empty)',
      initialValue: '',
      validate: (v) => {
        try {
          parseServiceNames(v ?? '');
          return undefined;
        } catch (error) {
          return (error as Error).message.replace(/^\[tunnelmux\] /, '');
        }
      },
    });
    if (cancelled(names)) return stop();
    const parsed = names.trim() ? parseServiceNames(names) : [];
    services = parsed.length > 1 ? serviceDefaults(parsed) : undefined;
  }
  if (services) return askServicesFlow(p, services, defaults, installed, stop);
  const listen = await p.text({
    message: 'Local address clients connect to (the front door)',
    initialValue: defaults.listen,
    validate: (v) =>
      /^(?:\[[^\]]+\]|[^:\s]+):\d+$/.test(v ?? '') ? undefined : 'host:port, e.g. 127.0.0.1:2222',
  });
  if (cancelled(listen)) return stop();
  const target = await p.text({
    message: 'Target as seen from the far side of the tunnels',
    initialValue: defaults.target,
    validate: (v) =>
      /^(?:\[[^\]]+\]|[^:\s]+):\d+$/.test(v ?? '') ? undefined : 'host:port, e.g. devbox.internal:22',
  });
  if (cancelled(target)) return stop();
  const protocol = await p.select({
    message: 'Protocol',
    options: [
      { value: 'ssh' as const, label: 'ssh', hint: 'probes wait for the SSH banner; first-byte failover' },
      { value: 'tcp' as const, label: 'tcp', hint: 'probes only connect' },
    ],
    initialValue: defaults.protocol,
  });
  if (cancelled(protocol)) return stop();
  const providers = await askProviders(
    p,
    'Paths, in priority order (first = preferred)',
    defaults,
    installed,
  );
  if (cancelled(providers)) return stop();
  p.outro('writing the config');
  return { listen, target, protocol, providers };
}

type Prompts = typeof import('@clack/prompts');

/** Which providers' paths to write, installed ones marked; every known template is offered. */
function askProviders(p: Prompts, message: string, defaults: Answers, installed: string[]) {
  const choices = [...new Set([...installed, ...Object.keys(TEMPLATES)])];
  return p.multiselect({
    message,
    options: choices.map((id) => ({
      value: id,
      label: id,
      hint: installed.includes(id) ? 'installed' : 'not installed',
    })),
    initialValues: defaults.providers.filter((id) => choices.includes(id)),
    required: true,
  });
}

// Several services: a listen address and target per service, then the paths every service gets.
async function askServicesFlow(
  p: Prompts,
  services: ServiceAnswers[],
  defaults: Answers,
  installed: string[],
  stop: () => never,
): Promise<Answers> {
  const address = (v: string | undefined) =>
    /^(?:\[[^\]]+\]|[^:\s]+):\d+$/.test(v ?? '') ? undefined : 'host:port, e.g. 127.0.0.1:2222';
  const answered: ServiceAnswers[] = [];
  for (const service of services) {
    const listen = await p.text({
      message: `${service.name}: local address clients connect to`,
      initialValue: service.listen,
      validate: address,
    });
    if (p.isCancel(listen)) return stop();
    const target = await p.text({
      message: `${service.name}: target as seen from the far side of the tunnels`,
      initialValue: service.target,
      validate: address,
    });
    if (p.isCancel(target)) return stop();
    answered.push({ ...service, listen, target });
  }
  const providers = await askProviders(
    p,
    'Paths of every service, in priority order (first = preferred)',
    defaults,
    installed,
  );
  if (p.isCancel(providers)) return stop();
  p.outro('writing the config');
  return { ...defaults, providers, services: answered };
}

/** `--services ssh,db`: distinct, valid service names. */
function parseServiceNames(text: string): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const bad = names.find((name) => !SERVICE_NAME.test(name));
  if (bad !== undefined) {
    throw usageError(`[tunnelmux] --services: service name "${bad}" must be ${SERVICE_NAME_EXPECTED}`);
  }
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) throw usageError(`[tunnelmux] --services names "${repeated}" twice`);
  if (names.length === 0) throw usageError('[tunnelmux] --services needs names such as ssh,db');
  return names;
}

function pathsOf(providers: string[]) {
  return providers.map((provider, index) => ({
    id: SHORT_IDS[provider] ?? provider,
    provider,
    priority: index + 1,
    options: TEMPLATES[provider] ?? {},
  }));
}

function render(answers: Answers): string {
  if (answers.services) {
    return (
      '# yaml-language-server: $schema=./node_modules/@tunnelmux/cli/schema/tunnelmux.schema.json\n' +
      '# tunnelmux config with several services: see `tunnelmux --help`; check it with `tunnelmux doctor`.\n' +
      stringify(servicesConfig(answers.services, pathsOf(answers.providers)), {
        flowCollectionPadding: true,
        collectionStyle: 'block',
      })
    );
  }
  const config = {
    listen: answers.listen,
    target: answers.target,
    protocol: answers.protocol,
    failover: { interval: '2s', timeout: '1s', fall: 3, rise: 2, maxLatency: '500ms', autoRecover: true },
    paths: pathsOf(answers.providers),
  };
  return (
    '# yaml-language-server: $schema=./node_modules/@tunnelmux/cli/schema/tunnelmux.schema.json\n' +
    '# tunnelmux config: see `tunnelmux --help`; check it with `tunnelmux doctor`.\n' +
    stringify(config, { flowCollectionPadding: true, collectionStyle: 'block' })
  );
}
