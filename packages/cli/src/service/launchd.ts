import os from 'node:os';
import path from 'node:path';
import { build } from 'plist';
import { type ServiceSpec, serviceArgs, serviceName } from './systemd';

/** The launchd label: `dev.tunnelmux.<name>`. */
export function launchdLabel(name: string): string {
  return `dev.tunnelmux.${name}`;
}

/** `~/Library/LaunchAgents/<label>.plist` for a user agent, `/Library/LaunchDaemons/<label>.plist` for a daemon. */
export function plistPath(
  spec: Pick<ServiceSpec, 'name' | 'user'>,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const file = `${launchdLabel(spec.name)}.plist`;
  return spec.user
    ? path.join(env.HOME ?? os.homedir(), 'Library', 'LaunchAgents', file)
    : path.join('/Library/LaunchDaemons', file);
}

/** Where the service's output goes: launchd has no journal. */
export function logPath(
  spec: Pick<ServiceSpec, 'name' | 'user'>,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const file = `${serviceName(spec.name)}.log`;
  return spec.user
    ? path.join(env.HOME ?? os.homedir(), 'Library', 'Logs', file)
    : path.join('/Library/Logs', file);
}

/**
 * The launchd job: runs `up` at load, restarts it when it exits with a failure (KeepAlive.SuccessfulExit false),
 * at most every 5 s (ThrottleInterval), output to a log file.
 */
export function launchdPlist(spec: ServiceSpec, env: NodeJS.ProcessEnv = process.env): string {
  const log = logPath(spec, env);
  return build({
    Label: launchdLabel(spec.name),
    ProgramArguments: serviceArgs(spec),
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 5,
    ProcessType: 'Background',
    WorkingDirectory: path.dirname(spec.config),
    StandardOutPath: log,
    StandardErrorPath: log,
  });
}

/** The launchctl commands that load and start the job, for the user to run. */
export function launchctlHints(spec: Pick<ServiceSpec, 'name' | 'user'>, file: string): string[] {
  const domain = spec.user ? 'gui/$(id -u)' : 'system';
  const sudo = spec.user ? '' : 'sudo ';
  return [
    `${sudo}launchctl bootstrap ${domain} ${file}`,
    `${sudo}launchctl kickstart -k ${domain}/${launchdLabel(spec.name)}`,
    `tail -f ${logPath(spec)}`,
  ];
}
