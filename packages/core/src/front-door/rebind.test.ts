import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createManager } from '../manager/manager';
import { liveClient } from '../test-utils/live-client';
import { relayProvider } from '../test-utils/relay-provider';
import { startBannerServer } from '../testing/banner-server';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Resolves with the error code of a connect to `port` that fails, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('a front door rebind', () => {
  it('opens the new door, stops the old one accepting, and a live connection through the old door carries on', async () => {
    const target = await startBannerServer();
    cleanups.push(() => target.close());
    const relays = relayProvider();
    const manager = createManager({
      target,
      protocol: 'ssh',
      providers: [relays.provider],
      metricsInterval: 0,
    });
    cleanups.push(() => manager.shutdown());
    await manager.start({ id: 'a', provider: 'relay' });
    const oldDoor = await manager.listen({ port: 0 });
    const banner = target.banner.length;
    const live = await liveClient(oldDoor.address.port);
    cleanups.push(async () => live.socket.destroy());
    await live.waitFor(banner);

    const newDoor = await manager.listen({ port: 0 });
    expect(oldDoor.accepting).toBe(true);
    await oldDoor.stopAccepting();
    expect(oldDoor.accepting).toBe(false);
    expect(await tryConnect(oldDoor.address.port)).toBe('ECONNREFUSED');

    // The old door's client still talks, both ways.
    live.socket.write('after the rebind');
    await live.waitFor(banner + 16);
    expect(live.received().subarray(banner).toString()).toBe('after the rebind');
    expect(oldDoor.connections()).toHaveLength(1);

    const fresh = await liveClient(newDoor.address.port);
    cleanups.push(async () => fresh.socket.destroy());
    await fresh.waitFor(banner);

    // Closing the old door now waits for its last client, then resolves.
    const closing = oldDoor.close({ drainTimeout: 60_000 });
    live.socket.write('+');
    await live.waitFor(banner + 17);
    await live.end();
    await closing;
    expect(oldDoor.connections()).toEqual([]);
    expect(newDoor.accepting).toBe(true);
  });

  it('cuts what is left when the drain time of close() runs out', async () => {
    const target = await startBannerServer();
    cleanups.push(() => target.close());
    const relays = relayProvider();
    const manager = createManager({
      target,
      protocol: 'ssh',
      providers: [relays.provider],
      metricsInterval: 0,
    });
    cleanups.push(() => manager.shutdown());
    await manager.start({ id: 'a', provider: 'relay' });
    const door = await manager.listen({ port: 0, drainTimeout: 60_000 });
    const live = await liveClient(door.address.port);
    cleanups.push(async () => live.socket.destroy());
    await live.waitFor(target.banner.length);
    await door.close({ drainTimeout: 50 });
    await live.closed;
  });
});
