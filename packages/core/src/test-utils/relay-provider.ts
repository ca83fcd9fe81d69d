import net from 'node:net';
import { z } from 'zod';
import { freePort } from '../net/tcp';
import { defineProvider } from '../provider/define-provider';
import type { Tunnel, TunnelEnd } from '../provider/types';

/**
 * `ok` forwards; `silent` accepts and never answers; `refuse` resets at accept (the dial fails); `reset` accepts,
 * then resets the connection a moment later, as the kernel does when a tunnel process is killed with -9;
 * `unreachable` has nothing listening, so the dial is refused (ECONNREFUSED) while the tunnel stays up.
 */
export type RelayMode = 'ok' | 'silent' | 'refuse' | 'reset' | 'unreachable';

/** An in-process TCP relay per path, switchable between forwarding, silence and refusal; for front door tests. */
export function relayProvider() {
  const modes = new Map<string, RelayMode>();
  const relays = new Map<string, RelayTunnel>();
  const provider = defineProvider({
    apiVersion: 1,
    name: 'relay',
    summary: 'in-process relay for tests',
    access: {
      options: z.object({}).strict(),
      async open(_options, ctx) {
        const mode = () => modes.get(ctx.pathId) ?? 'ok';
        const tunnel = await RelayTunnel.open(ctx.target, mode, ctx.dialTcp);
        relays.set(ctx.pathId, tunnel);
        return tunnel;
      },
    },
  });
  return {
    provider,
    setMode: (id: string, mode: RelayMode) => modes.set(id, mode),
    relay: (id: string) => relays.get(id),
  };
}

class RelayTunnel implements Tunnel {
  readonly done: Promise<TunnelEnd>;
  accepted = 0;
  private resolveExit!: (end: TunnelEnd) => void;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly endpoint: string,
    private readonly port: number,
    /** A port that was free a moment ago, with nothing listening on it: dials there are refused. */
    private readonly deadPort: number,
    private readonly mode: () => RelayMode,
    private readonly dialTcp: (
      t: { host: string; port: number },
      o?: { signal?: AbortSignal },
    ) => Promise<import('node:stream').Duplex>,
  ) {
    this.done = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  static async open(
    target: { host: string; port: number },
    mode: () => RelayMode,
    dialTcp: RelayTunnel['dialTcp'],
  ): Promise<RelayTunnel> {
    let tunnel: RelayTunnel | undefined;
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      tunnel!.accepted += 1;
      tunnel!.sockets.add(client);
      client.on('close', () => tunnel!.sockets.delete(client));
      client.on('error', () => client.destroy());
      const current = mode();
      if (current === 'refuse') return client.resetAndDestroy();
      if (current === 'silent') return client.pause();
      if (current === 'reset') {
        client.pause();
        // Late enough that the dialler has seen its connect complete.
        setTimeout(() => client.resetAndDestroy(), 50);
        return;
      }
      const upstream = net.connect({ ...target, allowHalfOpen: true });
      tunnel!.sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (server.address() as net.AddressInfo).port;
    tunnel = new RelayTunnel(server, `127.0.0.1:${port}`, port, await freePort(), mode, dialTcp);
    return tunnel;
  }

  dial(signal?: AbortSignal) {
    if (this.mode() === 'unreachable')
      return this.dialTcp({ host: '127.0.0.1', port: this.deadPort }, { signal });
    return this.dialTcp({ host: '127.0.0.1', port: this.port }, { signal });
  }

  /** Black-hole what flows now: every open connection stays open and silent, both ways. */
  blackHole(): void {
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** Simulate the tunnel process dying: stop listening, cut everything. */
  crash(): void {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    this.resolveExit({ reason: 'process exited (code 1)', lastLines: ['relay crashed'] });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.resolveExit({ reason: 'closed' });
  }
}
