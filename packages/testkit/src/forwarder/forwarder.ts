import net from 'node:net';
import type { Faults } from './faults';

export interface ForwarderOptions {
  listen: { host: string; port: number };
  /** Where each accepted connection goes; a function lets fakes resolve per connection. */
  target: { host: string; port: number } | (() => { host: string; port: number });
  faults?: Faults;
  /** Called for each connection the target refused or that failed (fakes log it like the real tool). */
  onUpstreamError?: (error: Error) => void;
  onConnection?: (client: net.Socket) => void;
}

/** A loopback TCP forwarder whose behaviour follows a fault plan that can change while it runs. */
export class Forwarder {
  private server?: net.Server;
  private faults: Faults;
  private readonly held = new Set<net.Socket>();
  private readonly started = Date.now();

  constructor(private readonly options: ForwarderOptions) {
    this.faults = options.faults ?? {};
  }

  /** Listen; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    // Half-open both ways, so a client's half-close reaches the target and the reply still comes back.
    const server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.options.listen.host, port: this.options.listen.port }, () => {
        server.off('error', reject);
        // Like a real tunnel tool, an accept error (e.g. out of file descriptors) is logged, not fatal.
        server.on('error', (error) => this.options.onUpstreamError?.(error));
        resolve();
      });
    });
    const address = server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  }

  setFaults(faults: Faults): void {
    this.faults = faults;
    if (faults.mode === 'crash') process.exit(1);
  }

  async close(): Promise<void> {
    for (const socket of this.held) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private currentMode(): NonNullable<Faults['mode']> {
    const mode = this.faults.mode ?? 'ok';
    if (mode !== 'flap') return mode;
    const half = this.faults.flapMs ?? 1000;
    return Math.floor((Date.now() - this.started) / half) % 2 === 0 ? 'ok' : 'blackhole';
  }

  private accept(client: net.Socket): void {
    this.held.add(client);
    client.on('close', () => this.held.delete(client));
    client.on('error', () => client.destroy());
    this.options.onConnection?.(client);
    const mode = this.currentMode();
    if (mode === 'blackhole') {
      // Accept and hold: the client sees a connected socket that never answers.
      client.pause();
      return;
    }
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const delayMs = mode === 'slow' ? (this.faults.latencyMs ?? 300) : 0;
    const connect = () => {
      const target = typeof this.options.target === 'function' ? this.options.target() : this.options.target;
      const upstream = net.connect({ ...target, allowHalfOpen: true });
      this.held.add(upstream);
      upstream.on('close', () => this.held.delete(upstream));
      upstream.on('error', (error) => {
        this.options.onUpstreamError?.(error);
        client.destroy();
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      // pipe() keeps back-pressure in both directions and forwards half-closes.
      client.pipe(upstream);
      upstream.pipe(client);
    };
    if (delayMs > 0) setTimeout(connect, delayMs);
    else connect();
  }
}
