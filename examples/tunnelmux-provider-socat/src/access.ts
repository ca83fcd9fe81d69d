// The relay path: `socat TCP-LISTEN:<port>,bind=<bind>,reuseaddr,fork TCP:<target>`, ready once it listens.
import { type OpenContext, ProviderError, type Target, type Tunnel } from '@tunnelmux/core';
import { explainStartFailure, forkedChild, isConnectFailure, parseSocatLine } from './log-line';
import type { SocatOptions } from './options';

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
  const bin = await ctx.findBinary(options.bin);
  const local: Target = { host: options.bind, port: options.port ?? (await ctx.freePort(options.bind)) };
  const targetText = hostPort(ctx.target);
  const args = socatArgs(options, local.port, ctx.target);
  ctx.log.debug(`starting ${bin} ${args.join(' ')}`);
  let closing: Promise<void> | undefined;
  const child = ctx.spawn(bin, args, {
    signal: ctx.signal,
    keepLines: 100,
    explainExit: (info) => {
      if (closing) return undefined;
      const last = info.lastLines
        .map(parseSocatLine)
        .filter((l) => l !== undefined && l.pid === child.pid && (l.level === 'E' || l.level === 'F'))
        .at(-1);
      return {
        reason: `socat exited (${info.signal ? `signal ${info.signal}` : `code ${info.code}`})${last ? `: ${last.message}` : ''}`,
      };
    },
  });

  // The relay children socat forks per connection, from its own lines; they outlive a SIGTERM to the listener.
  const relays = new Set<number>();
  ctx.forwardLines(child, ({ text }) => {
    const line = parseSocatLine(text);
    if (!line) return { level: 'warn', message: `socat: ${text}` };
    if (line.pid === child.pid) {
      const forked = forkedChild(line.message);
      if (forked !== undefined) relays.add(forked);
      if (line.level === 'E' || line.level === 'F')
        return { level: 'error', message: `socat: ${line.message}` };
      return line.level === 'W' ? { level: 'warn', message: `socat: ${line.message}` } : undefined;
    }
    if (/^exit\(/.test(line.message)) relays.delete(line.pid);
    if (line.level === 'E' && isConnectFailure(line.message)) {
      ctx.reportDialFailure(`socat could not reach ${targetText}: ${line.message}`);
    } else if (line.level === 'E' || line.level === 'F' || line.level === 'W') {
      return { level: 'warn', message: `socat relay ${line.pid}: ${line.message}` };
    }
    return undefined;
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
  const close = () => {
    closing ??= (async () => {
      ctx.signal.removeEventListener('abort', endRelays);
      endRelays();
      await child.stop();
      // A connection accepted while stopping may have forked one more.
      endRelays();
    })();
    return closing;
  };

  try {
    const listening = ({ text }: { text: string }) => {
      const line = parseSocatLine(text);
      return line !== undefined && line.pid === child.pid && /^listening on /.test(line.message);
    };
    await child.waitForLine(listening, { signal: ctx.signal, timeoutMs: 15_000 });
    await ctx.waitForPort(local, { signal: ctx.signal, timeoutMs: 10_000, until: child.exited });
  } catch (error) {
    const byItself = child.ended;
    await close();
    if (ctx.signal.aborted && !byItself) throw error;
    const info = await child.exited;
    const why = byItself
      ? explainStartFailure(info.lastLines, local, options.port !== undefined)
      : { message: `socat did not listen on ${hostPort(local)} within 15 s`, fatal: false };
    throw new ProviderError(why.message, { fatal: why.fatal, lastLines: info.lastLines, cause: error });
  }
  ctx.log.info(`relaying ${hostPort(local)} to ${targetText} (socat pid ${child.pid})`);
  return {
    endpoint: hostPort(local),
    pid: child.pid,
    done: child.done,
    dial: (signal) => ctx.dialTcp(local, { signal, timeoutMs: 5000 }),
    async check() {
      if (child.ended) return { ok: false, detail: 'socat has exited' };
      return {
        ok: true,
        detail: `socat pid ${child.pid} listens on ${hostPort(local)}, ${relays.size} relay(s) open`,
      };
    },
    close,
  };
}
