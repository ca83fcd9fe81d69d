// The relay path: `socat TCP-LISTEN:<port>,bind=<bind>,reuseaddr,fork TCP:<target>`, ready once it listens.
import {
  ConfigError,
  type ExitInfo,
  type OpenContext,
  ProviderError,
  type Target,
  type Tunnel,
} from '@tunnelmux/core';
import { COMMAND, INSTALL } from './detect';
import { explainStartFailure, forkedChild, isConnectFailure, parseSocatLine } from './log-line';
import type { SocatOptions } from './options';

const NAME = 'socat';

/** `host:port`, with brackets for IPv6 (socat's syntax too). */
function hostPort(target: Target): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** socat's command line for one relay; `-d -d` makes it say when it listens and which children it forks. */
export function socatArgs(options: SocatOptions, port: number, target: Target): string[] {
  const connect = [`TCP:${hostPort(target)}`, ...options.extraAddressOptions].join(',');
  return ['-d', '-d', `TCP-LISTEN:${port},bind=${options.bind},reuseaddr,fork`, connect];
}

/** Open one relay path; resolves once socat listens and the port accepts. */
export async function openRelay(options: SocatOptions, ctx: OpenContext): Promise<Tunnel> {
  if (ctx.mode !== 'access') {
    throw ConfigError.invalid('mode', ctx.mode, '"access" (socat relays a local port to the target)', {
      provider: NAME,
      pathId: ctx.pathId,
    });
  }
  const bin = await ctx.which(options.bin ?? COMMAND, options.bin);
  if (!bin) {
    throw new ProviderError(
      `socat not found ${options.bin ? `at ${JSON.stringify(options.bin)} (option "bin")` : 'on PATH'}; ${INSTALL}`,
      { provider: NAME, pathId: ctx.pathId, fatal: true },
    );
  }
  const port = options.port ?? (await ctx.freePort(options.bind));
  const local: Target = { host: options.bind, port };
  const targetText = hostPort(ctx.target);
  const args = socatArgs(options, port, ctx.target);
  ctx.log.debug(`starting ${bin} ${args.join(' ')}`);
  const child = ctx.spawn(bin, args, { signal: ctx.signal, keepLines: 100 });

  // The relay children socat forks per connection, from its own lines; they outlive a SIGTERM to the listener.
  const relays = new Set<number>();
  child.onLine(({ text }) => {
    const line = parseSocatLine(text);
    if (!line) {
      ctx.log.warn(`socat: ${text}`);
      return;
    }
    if (line.pid === child.pid) {
      const forked = forkedChild(line.message);
      if (forked !== undefined) relays.add(forked);
      if (line.level === 'E' || line.level === 'F') ctx.log.error(`socat: ${line.message}`);
      else if (line.level === 'W') ctx.log.warn(`socat: ${line.message}`);
      return;
    }
    if (/^exit\(/.test(line.message)) relays.delete(line.pid);
    if (line.level === 'E' && isConnectFailure(line.message)) {
      ctx.reportDialFailure(`socat could not reach ${targetText}: ${line.message}`);
    } else if (line.level === 'E' || line.level === 'F' || line.level === 'W') {
      ctx.log.warn(`socat relay ${line.pid}: ${line.message}`);
    }
  });
  const endRelays = () => {
    for (const pid of relays) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    relays.clear();
  };
  ctx.signal.addEventListener('abort', endRelays, { once: true });

  // The listener's own exit, not its pipes' end: relay children hold stderr open after it dies.
  const listenerExited = new Promise<ExitInfo>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) =>
      resolve({ code, signal, lastLines: child.lastLines() });
    const proc = child.process.nodeChildProcess;
    if (proc.exitCode !== null || proc.signalCode !== null) done(proc.exitCode, proc.signalCode);
    else proc.once('exit', done);
    // A spawn failure (e.g. not executable) ends the pipes without an exit event.
    void child.exited.then((info) => resolve(info));
  });
  let ended = false;
  void listenerExited.then(() => {
    ended = true;
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      ctx.signal.removeEventListener('abort', endRelays);
      endRelays();
      await Promise.race([child.stop(), listenerExited]);
      // A connection accepted while stopping may have forked one more.
      endRelays();
    })();
    return closing;
  };

  try {
    const listening = (text: string) => {
      const line = parseSocatLine(text);
      return line !== undefined && line.pid === child.pid && /^listening on /.test(line.message);
    };
    await child.waitForLine(({ text }) => listening(text), { signal: ctx.signal, timeoutMs: 15_000 });
    await ctx.waitForPort(local, { signal: ctx.signal, timeoutMs: 10_000, until: listenerExited });
  } catch (error) {
    const byItself = ended;
    await close();
    if (ctx.signal.aborted && !byItself) throw error;
    const info = await listenerExited;
    const why = byItself
      ? explainStartFailure(info.lastLines, local, options.port !== undefined)
      : { message: `socat did not listen on ${hostPort(local)} within 15 s`, fatal: false };
    throw new ProviderError(why.message, {
      provider: NAME,
      pathId: ctx.pathId,
      fatal: why.fatal,
      lastLines: info.lastLines,
      cause: error,
    });
  }
  ctx.log.info(`relaying ${hostPort(local)} to ${targetText} (socat pid ${child.pid})`);

  const exited = listenerExited.then((info): ExitInfo => {
    if (closing) return info;
    const last = info.lastLines
      .map(parseSocatLine)
      .filter(
        (line) => line !== undefined && line.pid === child.pid && (line.level === 'E' || line.level === 'F'),
      )
      .at(-1);
    const how = info.signal ? `signal ${info.signal}` : `code ${info.code}`;
    return { ...info, reason: `socat exited (${how})${last ? `: ${last.message}` : ''}` };
  });

  return {
    endpoint: hostPort(local),
    pid: child.pid,
    exited,
    dial: (signal) => ctx.dialTcp(local, { signal, timeoutMs: 5000 }),
    async check() {
      if (ended) return { ok: false, detail: 'socat has exited' };
      return {
        ok: true,
        detail: `socat pid ${child.pid} listens on ${hostPort(local)}, ${relays.size} relay(s) open`,
      };
    },
    close,
  };
}
