import net from 'node:net';
import { createManager } from '@tunnelmux/core';
import { type BannerServer, descendants, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import socat from './index';

// socat forks one relay child per connection, and a SIGTERM to the listener leaves them running.
describe('socat relay children', () => {
  let target: BannerServer;
  beforeAll(async () => {
    target = await startBannerServer();
  });
  afterAll(() => target?.close());

  it('stopping the path ends the relays of live connections too', async () => {
    await using m = createManager({
      target: { host: target.host, port: target.port },
      protocol: 'ssh',
      providers: [socat],
    });
    const status = await m.start({ id: 'relay', provider: 'socat', options: {} });
    expect(status.state).toBe('connected');
    const [host, port] = status.endpoint!.split(':');
    const socket = net.connect({ host, port: Number(port) });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('data', resolve));

    // The live connection's relay is a child of the listener while it runs.
    const relays = await descendants(status.pid!);
    expect(relays.length).toBeGreaterThan(0);

    await m.stop('relay');
    expect(await isAlive(status.pid!)).toBe(false);
    // Bounded wait: the relay exits on its SIGTERM, then our side sees the connection close.
    await closed;
    for (const pid of relays) expect(await isAlive(pid), `relay ${pid} outlived stop`).toBe(false);
  });
});
