// Pieces the ssh scenarios share: jump-host options, a checked client transfer, event bookkeeping.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Manager, PathStatus, TunnelmuxEvent } from '@tunnelmux/core';
import { jumpPathOptions, type Sshd } from '@tunnelmux/testkit';

/** Options for an ssh path through `jump`; a frozen jump host is given up on after about 1 s x 2 keepalives. */
export function jumpOptions(jump: Sshd): Record<string, unknown> {
  return jumpPathOptions(jump, { serverAliveCountMax: 2 });
}

export interface Transfer {
  startedAt: number;
  endedAt: number;
  ok: boolean;
  error?: string;
}

/**
 * One client connection through the front door to a banner+echo target: read the banner, send `size` random
 * bytes, and check the echo by sha256.
 */
export async function checkedTransfer(
  port: number,
  banner: string,
  size = 32 * 1024,
  timeoutMs = 15_000,
): Promise<Transfer> {
  const startedAt = Date.now();
  const payload = randomBytes(size);
  const expected = createHash('sha256')
    .update(Buffer.concat([Buffer.from(banner, 'latin1'), payload]))
    .digest('hex');
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      const hash = createHash('sha256');
      const total = Buffer.byteLength(banner, 'latin1') + size;
      let received = 0;
      let sent = false;
      const timer = setTimeout(
        () => fail(new Error(`no full echo within ${timeoutMs} ms (${received}/${total} bytes)`)),
        timeoutMs,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        // Server speaks first: send only after the banner arrived, the way an ssh client does.
        if (!sent && received >= Buffer.byteLength(banner, 'latin1')) {
          sent = true;
          socket.write(payload);
        }
        if (received < total) return;
        clearTimeout(timer);
        socket.destroy();
        const actual = hash.digest('hex');
        if (actual === expected) resolve();
        else reject(new Error(`sha256 mismatch: got ${actual}, want ${expected}`));
      });
      socket.once('error', fail);
      socket.once('close', () => {
        if (received < total) fail(new Error(`closed after ${received}/${total} bytes`));
      });
    });
    return { startedAt, endedAt: Date.now(), ok: true };
  } catch (error) {
    return { startedAt, endedAt: Date.now(), ok: false, error: (error as Error).message };
  }
}

/** Client traffic in the background, one checked transfer after another, until stopped. */
export function startTraffic(port: number, banner: string): { transfers: Transfer[]; stop(): Promise<void> } {
  const transfers: Transfer[] = [];
  let running = true;
  const loop = (async () => {
    while (running) transfers.push(await checkedTransfer(port, banner));
  })();
  return {
    transfers,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Spans of time during which no path was healthy, from `no-healthy-path` / `healthy-path-restored`. */
export function darkSpans(events: readonly TunnelmuxEvent[]): Array<{ from: number; to: number }> {
  const spans: Array<{ from: number; to: number }> = [];
  let from: number | undefined;
  for (const event of events) {
    if (event.type === 'no-healthy-path' && from === undefined) from = event.time;
    if (event.type === 'healthy-path-restored' && from !== undefined) {
      spans.push({ from, to: event.time });
      from = undefined;
    }
  }
  if (from !== undefined) spans.push({ from, to: Number.POSITIVE_INFINITY });
  return spans;
}

/** The status of one path. */
export function pathStatus(manager: Manager, id: string): PathStatus {
  return manager.status(id) as PathStatus;
}

/** Poll `probe` until it returns something, bounded. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Wait until both ssh paths are connected and `a` is the primary: where every ssh story starts. */
export async function bothPathsUp(manager: Manager): Promise<void> {
  await waitFor(
    'both paths up with a primary',
    () =>
      pathStatus(manager, 'a').state === 'connected' &&
      pathStatus(manager, 'b').state === 'connected' &&
      manager.getPrimary() === 'a',
  );
}
