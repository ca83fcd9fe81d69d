import type { Duplex } from 'node:stream';
import type { CheckResult, OpenContext, Tunnel } from '@tunnelmux/core';
import { TailscaleCli, tailscaleError } from './cli';
import { formatGoDuration } from './duration';
import { NcStream } from './nc';
import type { TailscaleOptions } from './options';
import { interpretPing } from './ping';
import {
  backendProblem,
  hostPort,
  type Peer,
  readStatus,
  requirePeer,
  resolvePeer,
  type TailscaleStatus,
} from './status';
import { WatchedTunnel } from './watch';

/** How long `tailscale ping` waits for the one pong of a check. */
const PING_TIMEOUT_MS = 2000;

/**
 * Open an access path to a tailnet peer. There is no long-running process: readiness is `tailscale status`
 * saying the backend is Running and the peer Online; each dial then goes straight to the peer's tailnet IP
 * or through its own `tailscale nc` child.
 */
export async function openAccess(options: TailscaleOptions, ctx: OpenContext): Promise<Tunnel> {
  const host = options.host!;
  const bin = await ctx.findBinary(options.bin);
  const cli = new TailscaleCli(bin, options.socket, ctx);
  const status = await readStatus(cli, { signal: ctx.signal });
  const problem = backendProblem(status, cli);
  if (problem) throw tailscaleError(problem.message, { fatal: problem.fatal });
  const peer = requirePeer(status, host);
  const via = options.dial === 'auto' ? (status.TUN === false ? 'nc' : 'direct') : options.dial;
  const port = options.port ?? ctx.target.port;
  if (via === 'direct' && status.TUN === false) {
    ctx.log.warn(
      'tailscaled runs without a TUN device (userspace networking): direct dials to tailnet IPs will fail; use dial: "nc" or "auto"',
    );
  }
  ctx.log.info(
    `peer ${peer.name} (${peer.ip}) is online; connections go ${via === 'nc' ? 'through `tailscale nc`' : 'directly'} to port ${port}`,
  );
  return new AccessTunnel(cli, ctx, options, peer, port, via);
}

class AccessTunnel extends WatchedTunnel implements Tunnel {
  readonly endpoint: string;
  private readonly streams = new Set<NcStream>();

  constructor(
    private readonly cli: TailscaleCli,
    ctx: OpenContext,
    options: TailscaleOptions,
    private readonly peer: Peer,
    private readonly port: number,
    private readonly via: 'direct' | 'nc',
  ) {
    super(ctx, options.pollInterval);
    this.endpoint =
      via === 'nc' ? `tailscale nc ${peer.name} ${port}` : `${peer.name} ${hostPort(peer.ip, port)}`;
    // Re-read `tailscale status`: the path ends when the backend stops or logs out, the daemon goes away, or the
    // peer goes offline or leaves; blips (a slow or garbled status, Starting) pass up to a few in a row.
    this.watch(async (signal) => {
      const status = await readStatus(this.cli, {
        signal,
        timeoutMs: Math.max(10_000, options.pollInterval),
      });
      const problem = backendProblem(status, this.cli);
      if (problem) return problem.fatal ? { end: problem.message } : { blip: problem.message };
      const gone = this.peerProblem(status);
      return gone ? { end: gone } : undefined;
    });
  }

  async dial(signal?: AbortSignal): Promise<Duplex> {
    if (this.closing) throw tailscaleError(`the path to ${this.peer.name} is closed`);
    return this.via === 'direct'
      ? this.connect({ host: this.peer.ip, port: this.port }, signal)
      : this.dialNc();
  }

  private async dialNc(): Promise<Duplex> {
    // The IP, not the name: no MagicDNS lookup per connection, and the same peer the status check found.
    const child = this.cli.spawn(['nc', this.peer.ip, String(this.port)], {
      stdin: 'pipe',
      killGraceMs: 1000,
    });
    if (child.pid === undefined) {
      const info = await child.exited;
      throw tailscaleError(`could not start \`${this.cli.display('nc')}\`: ${info.reason ?? 'spawn failed'}`);
    }
    const stream = new NcStream(
      child,
      `\`${this.cli.display('nc', this.peer.ip, String(this.port))}\``,
      (reason) => this.ctx.reportDialFailure(reason),
    );
    this.streams.add(stream);
    stream.on('error', () => undefined);
    stream.once('close', () => this.streams.delete(stream));
    // Raced with close(): the stream must not outlive the path.
    if (this.closing) stream.destroy();
    return stream;
  }

  async check(signal: AbortSignal): Promise<CheckResult> {
    const result = await this.cli.run(
      [
        'ping',
        '--c',
        '1',
        '--timeout',
        formatGoDuration(PING_TIMEOUT_MS),
        '--until-direct=false',
        this.peer.ip,
      ],
      { signal, timeoutMs: PING_TIMEOUT_MS + 8000 },
    );
    return interpretPing(result);
  }

  /** Why the peer can no longer be reached, from a fresh status; undefined while it is online. */
  private peerProblem(status: TailscaleStatus): string | undefined {
    const lookup = resolvePeer(status, this.peer.ip);
    if (!lookup.found)
      return `peer ${this.peer.name} (${this.peer.ip}) left the tailnet: it is no longer in \`tailscale status\``;
    if (!lookup.found.online) return `peer ${this.peer.name} went offline`;
    return undefined;
  }

  protected async release(): Promise<void> {
    const streams = [...this.streams];
    for (const stream of streams) stream.destroy();
    await Promise.all(streams.map((stream) => stream.gone));
  }
}
