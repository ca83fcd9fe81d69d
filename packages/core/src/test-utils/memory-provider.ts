import { type Duplex, PassThrough } from 'node:stream';
import { z } from 'zod';
import { ProviderError } from '../errors';
import { processEnd } from '../process/exit';
import { defineProvider } from '../provider/define-provider';
import type { OpenContext, Tunnel, TunnelEnd } from '../provider/types';

/** How an in-memory path behaves; tests flip these while it runs. */
export interface MemoryBehaviour {
  /** `speak`: answers with a banner; `silent`: connects, never answers; `refuse`: dial rejects; `close`: EOF at once. */
  dial: 'speak' | 'silent' | 'refuse' | 'close';
  /** Delay before the banner, in ms. */
  latencyMs: number;
  /** Make the next open fail: `transient` or `fatal`. */
  openError?: 'transient' | 'fatal';
  /** The next open never resolves until aborted. */
  openHangs?: boolean;
  /** close() never finishes (a provider bug the manager must outlive). */
  closeHangs?: boolean;
  /** Probe through `check()` instead of `dial()` (an expose path that cannot be dialled from here). */
  checkOnly?: boolean;
  checkOk?: boolean;
}

/** An in-process provider whose tunnels are PassThrough pairs: for unit tests of the manager logic. */
export function memoryProvider() {
  const behaviours = new Map<string, MemoryBehaviour>();
  const tunnels = new Map<string, MemoryTunnel[]>();
  const behaviour = (id: string) => {
    let b = behaviours.get(id);
    if (!b) {
      b = { dial: 'speak', latencyMs: 0 };
      behaviours.set(id, b);
    }
    return b;
  };
  const mode = {
    options: z.object({ secret: z.string().optional() }).strict(),
    async open(options: { secret?: string }, ctx: OpenContext) {
      const b = behaviour(ctx.pathId);
      if (options.secret) {
        ctx.secret(options.secret);
        ctx.log.info(`using token ${options.secret}`);
      }
      if (b.openHangs) {
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        );
      }
      if (b.openError) {
        const fatal = b.openError === 'fatal';
        b.openError = undefined;
        throw new ProviderError(fatal ? 'authentication failed: bad token' : 'edge unreachable', {
          provider: 'memory',
          fatal,
        });
      }
      const tunnel = new MemoryTunnel(b);
      const list = tunnels.get(ctx.pathId) ?? [];
      list.push(tunnel);
      tunnels.set(ctx.pathId, list);
      return tunnel;
    },
  };
  const provider = defineProvider({
    apiVersion: 1,
    name: 'memory',
    summary: 'in-process test paths',
    access: mode,
    expose: mode,
  });
  return {
    provider,
    behaviour,
    /** Every tunnel opened for a path, oldest first. */
    tunnels: (id: string) => tunnels.get(id) ?? [],
    live: (id: string) => (tunnels.get(id) ?? []).filter((t) => !t.closed),
  };
}

export class MemoryTunnel implements Tunnel {
  readonly endpoint = 'memory';
  readonly health: 'dial' | 'check';
  closed = false;
  dials = 0;
  readonly done: Promise<TunnelEnd>;
  private resolveExit!: (end: TunnelEnd) => void;

  constructor(private readonly b: MemoryBehaviour) {
    this.health = b.checkOnly ? 'check' : 'dial';
    this.done = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }

  async dial(): Promise<Duplex> {
    this.dials += 1;
    if (this.closed) throw new Error('tunnel closed');
    if (this.b.dial === 'refuse')
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const stream = new PassThrough();
    if (this.b.dial === 'close') setTimeout(() => stream.end(), 0);
    if (this.b.dial === 'speak') {
      const write = () => stream.push('SSH-2.0-memory\r\n');
      if (this.b.latencyMs > 0) setTimeout(write, this.b.latencyMs);
      else setTimeout(write, 0);
    }
    return stream;
  }

  async check() {
    return { ok: this.b.checkOk ?? true, detail: this.b.checkOk === false ? '/ready answered 503' : 'ready' };
  }

  /** Simulate the process dying. */
  crash(code = 1, fatal = false): void {
    this.resolveExit(
      processEnd({
        code,
        signal: null,
        lastLines: ['boom'],
        fatal,
        reason: fatal ? 'login required' : undefined,
      }),
    );
  }

  async close(): Promise<void> {
    if (this.b.closeHangs) return new Promise(() => undefined);
    this.closed = true;
    this.resolveExit({ reason: 'closed' });
  }
}
