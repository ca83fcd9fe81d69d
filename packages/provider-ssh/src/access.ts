// Access: an OpenSSH local forward (`ssh -N -L`) through a jump host, ready once ssh's own listener accepts.
import { type OpenContext, ProviderError, type Target, type Tunnel } from '@tunnelmux/core';
import { sleep } from '@tunnelmux/core/async';
import type { ChildHandle, ExitInfo } from '@tunnelmux/core/provider';
import { CHANNEL_OPEN_FAILED, type ExplainInput, explainSshFailure } from './explain';
import { listenerBelongsTo } from './listener';
import type { SshOptions } from './options';

/** The ssh command line for one path; nothing secret goes here (keys are files, never passwords). */
export function sshArgs(options: SshOptions, target: Target, localPort: number): string[] {
  const targetHost = target.host.includes(':') ? `[${target.host}]` : target.host;
  const args = [
    '-N',
    '-L',
    `127.0.0.1:${localPort}:${targetHost}:${target.port}`,
    '-o',
    'ExitOnForwardFailure=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `ServerAliveInterval=${options.serverAliveInterval}`,
    '-o',
    `ServerAliveCountMax=${options.serverAliveCountMax}`,
    '-o',
    `ConnectTimeout=${options.connectTimeout}`,
  ];
  if (options.identityFile) args.push('-o', 'IdentitiesOnly=yes', '-i', options.identityFile);
  if (options.knownHostsFile)
    args.push('-o', `UserKnownHostsFile=${quoteConfigValue(options.knownHostsFile)}`);
  args.push('-o', `StrictHostKeyChecking=${options.strictHostKeyChecking}`);
  if (options.configFile) args.push('-F', options.configFile);
  for (const [key, value] of Object.entries(options.sshOptions))
    args.push('-o', `${key}=${quoteConfigValue(value)}`);
  args.push('-p', String(options.port), options.user ? `${options.user}@${options.host}` : options.host);
  return args;
}

// ssh splits `-o` values on spaces: quote paths that hold one.
function quoteConfigValue(value: string): string {
  return /\s/.test(value) ? `"${value.replace(/"/g, '')}"` : value;
}

export async function openAccess(options: SshOptions, ctx: OpenContext): Promise<Tunnel> {
  if (options.strictHostKeyChecking === 'no') {
    ctx.log.warn(
      `strictHostKeyChecking is "no" for ${options.host}: any host key is trusted, so a man in the middle would go unnoticed`,
    );
  }
  const bin = await ctx.findBinary(options.bin);

  const localPort = options.localPort ?? (await ctx.freePort('127.0.0.1'));
  const local: Target = { host: '127.0.0.1', port: localPort };
  const destination = `${options.user ? `${options.user}@` : ''}${options.host}:${options.port}`;
  const explainInput: ExplainInput = {
    destination,
    host: options.host,
    port: options.port,
    localPort,
    knownHostsFile: options.knownHostsFile,
    identityFile: options.identityFile,
  };
  const targetText = `${ctx.target.host}:${ctx.target.port}`;
  const args = sshArgs(options, ctx.target, localPort);
  ctx.log.debug(`starting ${bin} ${args.join(' ')}`);

  let closing: Promise<void> | undefined;
  const child = ctx.spawn(bin, args, {
    signal: ctx.signal,
    explainExit: (info) => (closing ? undefined : { reason: describeDrop(info, explainInput) }),
    // BatchMode already forbids prompts; this keeps an askpass helper from popping up too.
    env: { SSH_ASKPASS_REQUIRE: 'never' },
    keepLines: 100,
  });

  ctx.forwardLines(child, ({ text }) => {
    const line = text.replace(/\r$/, '');
    if (!line) return undefined;
    const channel = CHANNEL_OPEN_FAILED.exec(line);
    // The jump host is up but cannot reach the target: a failed dial, not a dead path.
    if (channel) ctx.reportDialFailure(`${destination} cannot reach ${targetText}: ${channel[1]}`);
    return { level: /^Warning: Permanently added/.test(line) ? 'info' : 'warn', message: `ssh: ${line}` };
  });

  const timeoutMs = (options.connectTimeout + 20) * 1000;
  try {
    await waitForForward(ctx, child, local, timeoutMs);
  } catch (error) {
    const byItself = child.ended;
    const info = await child.stop();
    if (ctx.signal.aborted && !byItself) throw error;
    if (byItself) {
      const why = explainSshFailure(info.lastLines, explainInput);
      throw new ProviderError(why.message, { fatal: why.fatal, lastLines: info.lastLines, cause: error });
    }
    throw new ProviderError(
      `ssh to ${destination} did not open its forward on 127.0.0.1:${localPort} within ${timeoutMs} ms`,
      { lastLines: info.lastLines, cause: error },
    );
  }
  ctx.log.info(`forwarding 127.0.0.1:${localPort} to ${targetText} through ${destination}`);

  return {
    endpoint: `127.0.0.1:${localPort}`,
    pid: child.pid,
    done: child.done,
    dial: (signal) => ctx.dialTcp(local, { signal, timeoutMs: 5000 }),
    // The dial is nothing but a connect to ssh's listener: the front door may connect there itself.
    connectTo: local,
    async check() {
      if (child.ended) return { ok: false, detail: 'ssh has exited' };
      const mine = child.pid === undefined ? undefined : await listenerBelongsTo(child.pid, localPort);
      return mine === false
        ? { ok: false, detail: `ssh no longer listens on 127.0.0.1:${localPort}` }
        : { ok: true, detail: `ssh pid ${child.pid} forwards 127.0.0.1:${localPort}` };
    },
    close() {
      closing ??= child.stop().then(() => undefined);
      return closing;
    },
  };
}

/**
 * Ready = the forward's port accepts, after auth, and the listener is ssh's own (a squatter on a fixed
 * `localPort` answers too, until ssh fails to bind it and exits). Never a fixed sleep.
 */
async function waitForForward(ctx: OpenContext, child: ChildHandle, local: Target, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.ended) throw new ProviderError('ssh exited before its forward was ready');
    await ctx.waitForPort(local, {
      signal: ctx.signal,
      timeoutMs: Math.max(1, deadline - Date.now()),
      until: child.exited,
    });
    const mine = child.pid === undefined ? undefined : await listenerBelongsTo(child.pid, local.port);
    if (mine !== false && !child.ended) return;
    if (Date.now() > deadline) {
      throw new ProviderError(`another program answers on 127.0.0.1:${local.port}, not ssh`);
    }
    // Someone else holds the port: wait (bounded) for ssh to bind it or to give up.
    await Promise.race([child.exited, sleep(50, ctx.signal)]);
  }
}

function describeDrop(info: ExitInfo, input: ExplainInput): string {
  if (info.signal) return `ssh to ${input.destination} was killed by ${info.signal}`;
  if (info.code === 0) return `ssh to ${input.destination} exited (code 0)`;
  return explainSshFailure(info.lastLines, input).message;
}
