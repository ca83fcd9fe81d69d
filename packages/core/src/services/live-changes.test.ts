import { afterEach, describe, expect, it } from 'vitest';
import type { TunnelmuxEvent } from '../events/types';
import { echoStream, liveClient } from '../test-utils/live-client';
import { relayProvider } from '../test-utils/relay-provider';
import { startBannerServer } from '../testing/banner-server';
import { createServiceGroup } from './index';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const FAILOVER = { interval: 200, timeout: 1000, maxLatency: 800, fall: 2, rise: 2 };

describe('a long echo session while the services around it change', () => {
  it('keeps every byte through path a while b is added, c drained, failover retuned, and a service comes and goes', async () => {
    const group = createServiceGroup();
    cleanups.push(() => group.shutdown());
    const events: TunnelmuxEvent[] = [];
    group.events.on((event) => events.push(event));
    const target = await startBannerServer();
    cleanups.push(() => target.close());
    const relays = relayProvider();
    const ssh = group.add('ssh', {
      target,
      protocol: 'ssh',
      providers: [relays.provider],
      failover: FAILOVER,
      metricsInterval: 0,
    });
    const started = await ssh.startMultiple([
      { id: 'a', provider: 'relay' },
      { id: 'c', provider: 'relay' },
    ]);
    expect(started.map((r) => r.ok)).toEqual([true, true]);
    const door = await ssh.listen({ port: 0 });
    const banner = target.banner.length;
    const client = await liveClient(door.address.port);
    cleanups.push(async () => client.socket.destroy());
    await client.waitFor(banner);
    const stream = echoStream(client, banner);
    // Each change must leave the stream flowing: wait for another 256 KiB to come back after it.
    const flows = async (what: string) => {
      const before = stream.echoed();
      await expect
        .poll(() => stream.echoed(), { timeout: 10_000, message: `the stream to flow after ${what}` })
        .toBeGreaterThan(before + 256 * 1024);
    };
    await flows('the start');

    await ssh.add({ id: 'b', provider: 'relay' });
    await flows('adding b');

    await expect(ssh.drain('c', { timeoutMs: 10_000 })).resolves.toMatchObject({
      id: 'c',
      closedConnections: 0,
    });
    await flows('draining c');

    ssh.reconfigure({ failover: { ...FAILOVER, fall: 4, interval: 300 } });
    expect(ssh.failoverSettings).toMatchObject({ fall: 4, interval: 300 });
    await flows('retuning failover');

    const dbTarget = await startBannerServer('SSH-2.0-db\r\n');
    cleanups.push(() => dbTarget.close());
    const db = group.add('db', {
      target: dbTarget,
      protocol: 'ssh',
      providers: [relays.provider],
      failover: FAILOVER,
      metricsInterval: 0,
    });
    await db.start({ id: 'x', provider: 'relay' });
    const dbDoor = await db.listen({ port: 0 });
    // Clients of the new service work at once.
    const dbClient = await liveClient(dbDoor.address.port);
    cleanups.push(async () => dbClient.socket.destroy());
    await dbClient.waitFor(12);
    expect(dbClient.received().toString()).toBe('SSH-2.0-db\r\n');
    await dbClient.end();
    await flows('adding service db');
    await group.remove('db', { drainMs: 5000 });
    await flows('removing service db');

    const digests = await stream.finish();
    expect(digests.received).toBe(digests.sent);
    expect(digests.bytes).toBeGreaterThan(5 * 256 * 1024);
    // One connection, carried by a from start to end: never redialled, never moved.
    expect(door.connections()).toEqual([expect.objectContaining({ pathId: 'a', attempts: 1 })]);
    // Nothing failed; the only paths that went down are the drained c and the removed service's x.
    expect(events.filter((e) => e.type === 'dial-failed')).toEqual([]);
    const down = events.flatMap((e) => (e.type === 'disconnected' ? [`${e.service}/${e.pathId}`] : []));
    expect(down).toEqual(['ssh/c', 'db/x']);
    expect(
      events.filter(
        (e) =>
          e.type === 'failover' ||
          (e.type === 'primary-change' && e.service === 'ssh' && e.from !== undefined),
      ),
    ).toEqual([]);
    expect(ssh.list().map((p) => [p.id, p.state])).toEqual([
      ['a', 'connected'],
      ['b', 'connected'],
    ]);
    expect(group.names()).toEqual(['ssh']);
    expect(new Set(events.map((e) => e.service))).toEqual(new Set(['ssh', 'db']));
    await client.end();
  }, 60_000);
});
