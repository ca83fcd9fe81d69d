import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type CheckResult, ConfigError, type OpenContext, type Target, type Tunnel } from '@tunnelmux/core';
import { type CommandResult, PROVIDER, TailscaleCli, tailscaleError } from './cli';
import type { TailscaleOptions } from './options';
import { describeHandler, findHandler, forwardsTo, readServeConfig } from './serve';
import { backendProblem, hostPort, isDaemonDown, readStatus, type TailscaleStatus } from './status';
import { WatchedTunnel } from './watch';

/** How long `tailscale serve --bg …` may take (it talks to tailscaled, which may be busy). */
const SERVE_TIMEOUT_MS = 20_000;
/** How long the `serve --tcp=N off` undo may take on close; after that it is left to the exit-time undo. */
const OFF_TIMEOUT_MS = 10_000;
/** How long a test connection to this node's own tailnet address may take before it counts as unreachable. */
const REACH_TIMEOUT_MS = 1500;

/** This node as `tailscale status` shows it: where its serve handlers answer. */
interface SelfNode {
  /** The first IPv4 tailnet address (else the first address): where `dial` goes. */
  ip: string;
  /** MagicDNS name without the trailing dot; empty when MagicDNS is off. */
  dnsName: string;
}

/** What one expose path publishes. */
interface Publication {
  cli: TailscaleCli;
  /** The tailnet port (`--tcp=N`). */
  port: number;
  /** The handler's TCPForward, `127.0.0.1:22`. */
  forward: string;
  self: SelfNode;
}

/**
 * Publish the local target on this node's tailnet address with `tailscale serve --bg --tcp=N tcp://127.0.0.1:P`.
 * Nothing runs on our side: tailscaled holds the handler, so the undo (`serve --tcp=N off`) is registered with
 * core's reaper the moment it exists, and `exited` comes from polling `serve status --json`.
 */
export async function openExpose(options: TailscaleOptions, ctx: OpenContext): Promise<Tunnel> {
  const forward = loopbackForward(ctx.target);
  const port = options.publicPort ?? ctx.target.port;
  const bin = await ctx.findBinary(options.bin);
  const cli = new TailscaleCli(bin, options.socket, ctx);
  const status = await readStatus(cli, { signal: ctx.signal });
  const problem = backendProblem(status, cli);
  if (problem) throw tailscaleError(problem.message, { fatal: problem.fatal });
  const self = selfNode(status);
  const publication: Publication = { cli, port, forward, self };

  const existing = findHandler(await readServeConfig(cli, { signal: ctx.signal }), port);
  const owned = existing === undefined;
  if (existing && !forwardsTo(existing, forward)) {
    throw tailscaleError(
      `tailscale serve already uses tcp port ${port} on this node: it ${describeHandler(existing)}. tunnelmux never ` +
        `changes a serve config it did not create: set option "publicPort" to a free tailnet port, or remove the ` +
        `old handler with \`${cli.display('serve', `--tcp=${port}`, 'off')}\` if nothing needs it`,
      { fatal: true },
    );
  }
  if (!owned) {
    ctx.log.warn(
      `tcp port ${port} already forwards to ${forward} (set up outside this path, perhaps by an earlier run); ` +
        `tunnelmux uses it as it is and leaves it in place on stop — remove it with \`${cli.display('serve', `--tcp=${port}`, 'off')}\``,
    );
  }
  const auto = (options.health ?? 'auto') === 'auto';
  // Something already answering there (a service bound to all addresses) would make a dial prove nothing.
  const answeredBefore = auto && owned ? await reachable(ctx, self.ip, port, ctx.signal) : true;

  let unregister: () => void = () => undefined;
  if (owned) {
    const args = ['serve', '--bg', `--tcp=${port}`, `tcp://${forward}`];
    let result: CommandResult;
    try {
      result = await cli.run(args, { signal: ctx.signal, timeoutMs: SERVE_TIMEOUT_MS });
    } catch (error) {
      // Killed mid-way (abort or timeout): tailscaled may still have taken the handler.
      await withdrawIfOurs(publication, ctx);
      throw error;
    }
    if (result.code !== 0) {
      await withdrawIfOurs(publication, ctx);
      throw serveFailed(cli.display(...args), result);
    }
    // From here on, even a SIGKILL of tunnelmux withdraws it: core's reaper runs the undo.
    unregister = ctx.undoIfOrphaned(bin, cli.args('serve', `--tcp=${port}`, 'off'), undoEnv(ctx.childEnv()));
    try {
      const after = findHandler(await readServeConfig(cli, { signal: ctx.signal }), port);
      if (!forwardsTo(after, forward)) {
        throw tailscaleError(
          `\`${cli.display(...args)}\` succeeded, but \`tailscale serve status\` shows tcp port ${port} ` +
            (after ? `that ${describeHandler(after)}` : 'without a handler'),
        );
      }
    } catch (error) {
      if (await withdrawIfOurs(publication, ctx)) unregister();
      throw error;
    }
  }

  const health =
    options.health === 'dial' ||
    (auto && !answeredBefore && (await reachable(ctx, self.ip, port, ctx.signal)))
      ? 'dial'
      : 'check';
  const address = hostPort(self.ip, port);
  const publicUrl = `tcp://${self.dnsName ? `${self.dnsName}:${port}` : address}`;
  ctx.setPublicUrl(publicUrl);
  ctx.log.info(
    `published on the tailnet: ${publicUrl} (tcp://${address}) → ${forward}; probes ${
      health === 'dial'
        ? 'connect to that address end to end'
        : 'read `tailscale serve status` and the backend state (this machine cannot dial its own tailnet address)'
    }`,
  );
  return new ExposeTunnel(publication, ctx, options.pollInterval, health, publicUrl, owned, unregister);
}

/** tailscale serve forwards only to this machine's loopback (ipn.ExpandProxyTargetValue). */
function loopbackForward(target: Target): string {
  const host = target.host.toLowerCase();
  if (host !== '127.0.0.1' && host !== 'localhost') {
    throw ConfigError.invalid(
      'the path target',
      `${target.host}:${target.port}`,
      '127.0.0.1:PORT or localhost:PORT',
      {
        provider: PROVIDER,
        hint: 'tailscale serve only forwards to a port on this machine’s loopback',
      },
    );
  }
  return `${host}:${target.port}`;
}

function selfNode(status: TailscaleStatus): SelfNode {
  const ips = status.Self?.TailscaleIPs ?? [];
  const ip = ips.find((address) => net.isIPv4(address)) ?? ips[0];
  if (!ip) throw tailscaleError('this node has no tailnet IP yet in `tailscale status`; waiting for it');
  return { ip, dnsName: (status.Self?.DNSName ?? '').replace(/\.$/, '') };
}

/** A failed `serve --bg`: conflicts and bad targets are fatal (retrying cannot help), the rest transient. */
function serveFailed(command: string, result: CommandResult): Error {
  const said = [result.stderr.trim(), result.stdout.trim()].filter(Boolean).join(' — ');
  const text = said || result.reason || `exit ${result.code ?? result.signal}`;
  const fatal = /want to serve|already exists|only localhost|invalid|not allowed|cannot serve/i.test(text);
  return tailscaleError(`\`${command}\` failed: ${text.replace(/\s*\n\s*/g, ' ')}`, {
    fatal: fatal && !isDaemonDown(text),
    lastLines: text.split('\n').slice(-10),
  });
}

/** Whether `host:port` accepts a TCP connection within REACH_TIMEOUT_MS; false on any failure or abort. */
async function reachable(
  ctx: OpenContext,
  host: string,
  port: number,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    const socket = await ctx.dialTcp({ host, port }, { signal, timeoutMs: REACH_TIMEOUT_MS });
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

/** The environment the tailscale CLI ran with, where it differs from ours: the exit-time undo must see the same. */
function undoEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const differs: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (typeof value === 'string' && process.env[key] !== value) differs[key] = value;
  }
  return differs;
}

/**
 * Run `serve --tcp=N off` when the handler for N is still ours (never someone else's). Bounded by its own
 * timeout, since the path's signal may already be aborted. True when nothing of ours is left published.
 */
async function withdrawIfOurs(publication: Publication, ctx: Pick<OpenContext, 'log'>): Promise<boolean> {
  const { cli, port, forward } = publication;
  const signal = AbortSignal.timeout(OFF_TIMEOUT_MS + 5000);
  try {
    const found = findHandler(await readServeConfig(cli, { signal, timeoutMs: 5000 }), port);
    if (!forwardsTo(found, forward)) return true;
    const args = ['serve', `--tcp=${port}`, 'off'];
    const result = await cli.run(args, { signal, timeoutMs: OFF_TIMEOUT_MS });
    if (result.code === 0) {
      ctx.log.info(`withdrawn: tcp port ${port} is no longer served`);
      return true;
    }
    const said = result.stderr.trim() || result.stdout.trim() || result.reason || `exit ${result.code}`;
    ctx.log.warn(`\`${cli.display(...args)}\` failed: ${said}; it runs again when tunnelmux exits`);
  } catch (error) {
    ctx.log.warn(
      `could not withdraw tcp port ${port}: ${(error as Error).message}; \`${cli.display('serve', `--tcp=${port}`, 'off')}\` runs again when tunnelmux exits`,
    );
  }
  return false;
}

class ExposeTunnel extends WatchedTunnel implements Tunnel {
  readonly endpoint: string;
  /** Ours to withdraw: published by this path and not yet removed or taken over by someone else. */
  private mine: boolean;

  constructor(
    private readonly publication: Publication,
    ctx: OpenContext,
    pollInterval: number,
    readonly health: 'dial' | 'check',
    readonly publicUrl: string,
    owned: boolean,
    private readonly unregister: () => void,
  ) {
    super(ctx, pollInterval);
    this.mine = owned;
    this.endpoint = hostPort(publication.self.ip, publication.port);
    // Re-read status and serve status: the path ends when the handler is gone or taken over, the backend stops
    // or logs out, or tailscaled goes away; blips pass up to a few in a row.
    const { cli, port, forward } = publication;
    const timeoutMs = Math.max(10_000, pollInterval);
    this.watch(async (signal) => {
      const problem = backendProblem(await readStatus(cli, { signal, timeoutMs }), cli);
      if (problem) return problem.fatal ? { end: problem.message } : { blip: problem.message };
      const found = findHandler(await readServeConfig(cli, { signal, timeoutMs }), port);
      if (forwardsTo(found, forward)) return undefined;
      // Nothing of ours is left to withdraw, and someone else's handler must never be removed.
      this.disown();
      return {
        end: found
          ? `tcp port ${port} was taken over outside tunnelmux: it now ${describeHandler(found)}`
          : `the serve handler for tcp port ${port} is gone (\`tailscale serve reset\` or \`… --tcp=${port} off\` ran outside tunnelmux)`,
      };
    });
  }

  /** A connection to this node's own tailnet address at the serve port: through tailscaled to the local service. */
  async dial(signal?: AbortSignal): Promise<Duplex> {
    if (this.closing) throw tailscaleError(`the expose path on tcp port ${this.publication.port} is closed`);
    return this.connect({ host: this.publication.self.ip, port: this.publication.port }, signal);
  }

  /** The handler is still there and ours, and the backend Running. */
  async check(signal: AbortSignal): Promise<CheckResult> {
    const started = Date.now();
    const { cli, port, forward } = this.publication;
    const [status, config] = await Promise.all([
      readStatus(cli, { signal }),
      readServeConfig(cli, { signal }),
    ]);
    const latencyMs = Date.now() - started;
    const problem = backendProblem(status, cli);
    if (problem) return { ok: false, detail: problem.message, latencyMs };
    const found = findHandler(config, port);
    if (!forwardsTo(found, forward)) {
      return {
        ok: false,
        detail: found
          ? `tcp port ${port} now ${describeHandler(found)}`
          : `tcp port ${port} is no longer served`,
        latencyMs,
      };
    }
    return { ok: true, detail: `tcp port ${port} forwards to ${forward}; backend Running`, latencyMs };
  }

  private disown(): void {
    if (!this.mine) return;
    this.mine = false;
    this.unregister();
  }

  protected async release(): Promise<void> {
    if (!this.mine) return;
    // On failure the undo stays registered, so the reaper still withdraws it when tunnelmux exits.
    if (await withdrawIfOurs(this.publication, this.ctx)) this.disown();
  }
}
