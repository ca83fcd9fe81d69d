import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dialTcp, freePort } from '../net/tcp';
import { startBannerServer } from '../testing/banner-server';
import { connectWithFailover } from './connect';
import { type Carrier, carryWithFailover, openFrontDoor } from './front-door';
import type { RouteSource } from './route-source';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A RouteSource over plain TCP addresses, recording every report: no manager anywhere. */
async function stubSource(routes: Record<string, number>) {
  const calls: string[] = [];
  const bytes = { in: 0, out: 0, closed: 0 };
  const source: RouteSource = {
    routes: () =>
      Object.entries(routes).map(([id, port]) => ({
        id,
        dial: (signal) => dialTcp({ host: '127.0.0.1', port }, { signal }),
      })),
    dialFailed: (pathId, reason) => calls.push(`dialFailed ${pathId}: ${reason}`),
    carried: (pathId) => {
      calls.push(`carried ${pathId}`);
      let read: (() => { bytesIn: number; bytesOut: number }) | undefined;
      return {
        bytesIn: (n) => {
          bytes.in += n;
        },
        bytesOut: (n) => {
          bytes.out += n;
        },
        follow: (reader) => {
          read = reader;
        },
        close: () => {
          bytes.closed += 1;
          bytes.in += read?.().bytesIn ?? 0;
          bytes.out += read?.().bytesOut ?? 0;
        },
      };
    },
    refused: (reason) => calls.push(`refused: ${reason}`),
    describe: () => 'stub',
    warn: (message) => calls.push(`warn: ${message}`),
  };
  return { source, calls, bytes };
}

/** Send `payload`, half-close, read until the far end closes. */
function exchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', reject);
    socket.on('end', () => {
      socket.end();
      resolve(text);
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('client timed out')));
    socket.end(payload);
  });
}

describe('the front door over any RouteSource', () => {
  it('carries a client through the routes of a stub, reporting the refused one and metering the carrier', async () => {
    const target = await startBannerServer();
    cleanups.push(() => target.close());
    const { source, calls, bytes } = await stubSource({ dead: await freePort(), live: target.port });
    const door = await openFrontDoor(source, { defaultProtocol: 'ssh', defaultFirstByteTimeout: 1000 });
    cleanups.push(() => door.close());
    expect(await exchange(door.address.port, 'hi')).toBe(`${target.banner}hi`);
    await expect.poll(() => bytes.closed).toBe(1);
    expect(calls).toEqual([
      expect.stringMatching(/^dialFailed dead: dial failed: .*ECONNREFUSED/),
      'carried live',
    ]);
    expect(bytes).toEqual({ in: target.banner.length + 2, out: 2, closed: 1 });
  });

  it('hands each client to the carrier given, the seam a session layer plugs into', async () => {
    const target = await startBannerServer();
    cleanups.push(() => target.close());
    const { source, calls } = await stubSource({ live: target.port });
    const seen: number[] = [];
    // A carrier that wraps the default one, as a session layer would wrap the dialled stream.
    const carrier: Carrier = async (client, routes, settings) => {
      seen.push(client.info.id);
      await carryWithFailover(client, routes, settings);
    };
    const door = await openFrontDoor(source, {
      defaultProtocol: 'tcp',
      defaultFirstByteTimeout: 1000,
      carrier,
    });
    cleanups.push(() => door.close());
    expect(await exchange(door.address.port, 'a')).toBe(`${target.banner}a`);
    expect(await exchange(door.address.port, 'b')).toBe(`${target.banner}b`);
    expect(seen).toEqual([1, 2]);
    expect(calls).toEqual(['carried live', 'carried live']);
  });

  it('connectWithFailover refuses nothing itself: with no route it returns no connection and no reason', async () => {
    const { source, calls } = await stubSource({});
    const result = await connectWithFailover(source, {
      protocol: 'tcp',
      dialTimeout: 1000,
      firstByteTimeout: 1000,
      signal: new AbortController().signal,
    });
    expect(result).toEqual({ reasons: [] });
    expect(calls).toEqual([]);
  });
});
