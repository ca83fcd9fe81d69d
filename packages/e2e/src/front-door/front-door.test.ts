import net from 'node:net';
import { createManager, type FrontDoor, type Manager, type TunnelmuxEvent } from '@tunnelmux/core';
import type { FailoverInput } from '@tunnelmux/core/config';
import { type BannerServer, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import { FaultPlan, localProvider } from '@tunnelmux/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { clientLoad, echoDigest, sha256, until } from './clients';

interface World {
  target: BannerServer;
  manager: Manager;
  door: FrontDoor;
  events: TunnelmuxEvent[];
  faults: FaultPlan;
  pid(id: string): number;
  /** Wait until no client connection is open, so a fault hits new connections only. */
  idle(): Promise<void>;
  /** Wait until `count` more client connections went through path `id` (the load reached it; no fixed sleep). */
  served(id: string, count: number): Promise<void>;
  /** Wait until the front door has moved off path `id`. */
  movedOff(id: string): Promise<string>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) {
    for (const path of world.manager.list()) if (path.pid) process.kill(path.pid, 'SIGCONT');
    await world.manager.shutdown();
    await world.target.close();
    world.faults.dispose();
  }
});

async function world(
  protocol: 'ssh' | 'tcp',
  ids = ['a', 'b', 'c'],
  tuning: FailoverInput = {},
): Promise<World> {
  const target = await startBannerServer();
  const faults = new FaultPlan();
  const manager = createManager({
    target,
    protocol,
    providers: [localProvider],
    failover: {
      interval: 300,
      timeout: 300,
      fall: 2,
      rise: 2,
      minDwell: 1000,
      firstByteTimeout: 400,
      backoffInitial: 200,
      ...tuning,
    },
    metricsInterval: 0,
  });
  const events: TunnelmuxEvent[] = [];
  manager.events.on((event) => events.push(event));
  const results = await manager.startMultiple(
    ids.map((id) => ({ id, provider: 'local', options: { faultFile: faults.fileFor(id) } })),
  );
  expect(results.map((r) => r.ok)).toEqual(ids.map(() => true));
  const door = await manager.listen({ port: 0 });
  const w: World = {
    target,
    manager,
    door,
    events,
    faults,
    pid: (id) => manager.status(id).pid!,
    idle: () => until(() => door.connections().length === 0, 5000, 'no open client connection'),
    served: (id, count) => {
      const before = manager.status(id).totalConnections;
      return until(
        () => manager.status(id).totalConnections >= before + count,
        10_000,
        `${count} client connections through ${id}`,
      );
    },
    movedOff: async (id) => {
      await until(
        () => events.some((e) => e.type === 'failover' && e.from === id) && manager.getPrimary() !== id,
        10_000,
        `a failover away from ${id}`,
      );
      return manager.getPrimary()!;
    },
  };
  worlds.push(w);
  return w;
}

describe('front door stories (stand-in paths are separate processes)', () => {
  it('the primary crashes under a connection every 20 ms: no client connection fails', async () => {
    const { manager, door, events, pid, idle, served, movedOff } = await world('ssh');
    const load = clientLoad(door.address.port, 20, 5000);
    await served('a', 30);
    const victim = pid('a');
    await idle();
    process.kill(victim, 'SIGKILL');
    // Clients keep coming through the next path: the failover happened under load.
    await served(await movedOff('a'), 30);
    const { ok, failed } = await load.stop();
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(50);
    expect(await isAlive(victim)).toBe(false);
    expect(events.find((e) => e.type === 'failover')).toMatchObject({ from: 'a', to: 'b' });
    expect(manager.status('b').totalConnections).toBeGreaterThan(0);
  });

  it('the primary black-holes (SIGSTOP, the kernel still accepts): first-byte failover keeps every SSH client', async () => {
    const { manager, door, events, pid, idle, served, movedOff } = await world('ssh');
    const load = clientLoad(door.address.port, 20, 5000);
    await served('a', 30);
    await idle();
    process.kill(pid('a'), 'SIGSTOP');
    await served(await movedOff('a'), 30);
    const { ok, failed } = await load.stop();
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(50);
    expect(manager.getPrimary()).not.toBe('a');
    expect(events.some((e) => e.type === 'dial-failed' && e.pathId === 'a')).toBe(true);
  });

  it('with protocol tcp a black hole loses a bounded number of clients, and says so', async () => {
    const { manager, door, events, faults, idle, served, movedOff } = await world('tcp');
    const load = clientLoad(door.address.port, 20, 2000);
    await served('a', 30);
    await idle();
    faults.set('a', { mode: 'blackhole' });
    await served(await movedOff('a'), 30);
    const { ok, failed } = await load.stop();
    // Only connections that arrive before the probes mark it down (fall 2 x ~300 ms) can be lost.
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(100);
    expect(ok).toBeGreaterThan(50);
    expect(manager.getPrimary()).not.toBe('a');
    expect(events.find((e) => e.type === 'failover')).toMatchObject({ from: 'a' });
  });

  it('echoes megabytes intact across several failovers', async () => {
    const { manager, door, pid, idle } = await world('ssh');
    const payload = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
    const expected = sha256(payload);
    const used = new Set<string>();
    const allUp = () => manager.list().every((path) => path.state === 'connected');
    for (let round = 0; round < 4; round++) {
      // Let the paths killed before come back, so each kill is a failover and not a total outage.
      await until(allUp, 15_000, 'every path connected again');
      used.add(manager.getPrimary()!);
      expect(await echoDigest(door.address.port, payload)).toBe(expected);
      await idle();
      process.kill(pid(manager.getPrimary()!), 'SIGKILL');
    }
    expect(used.size).toBeGreaterThanOrEqual(2);
    expect(manager.getMetrics().failovers).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('a client that never reads does not make tunnelmux buffer without bound', async () => {
    // A target that writes as fast as it is allowed to, counting what the kernel accepted.
    let written = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const firehose = net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      const pump = () => {
        while (socket.writable && socket.write(chunk)) written += chunk.length;
        if (socket.writable) written += chunk.length;
      };
      socket.on('drain', pump);
      pump();
    });
    await new Promise<void>((resolve) => firehose.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (firehose.address() as net.AddressInfo).port;
    const manager = createManager({
      target: { host: '127.0.0.1', port },
      protocol: 'tcp',
      providers: [localProvider],
      metricsInterval: 0,
    });
    try {
      await manager.start({ id: 'a', provider: 'local' });
      const door = await manager.listen({ port: 0 });
      const client = net.connect({ host: '127.0.0.1', port: door.address.port });
      client.pause();
      // Kernel buffers on loopback auto-tune upwards for a while; wait (bounded) until the target is stuck.
      let last = -1;
      for (let i = 0; i < 40 && written !== last; i++) {
        last = written;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(written, 'the target never stopped being able to write').toBe(last);
      // Everything in flight fits in socket buffers (a few MiB per socket across the chain), not unbounded memory.
      expect(written).toBeLessThan(64 * 1024 * 1024);
      expect(manager.status('a').bytesIn).toBeLessThan(written);
      client.destroy();
    } finally {
      await manager.shutdown();
      await new Promise((resolve) => firehose.close(resolve));
    }
  });

  it('serves 1,000 concurrent SSH-like clients through stand-in processes', async () => {
    // Default patience: a burst of 1,000 banners through one forwarder process is slow, not broken.
    const { door, manager } = await world('ssh', ['a', 'b'], {
      firstByteTimeout: 2000,
      interval: 2000,
      timeout: 1000,
    });
    const { sshLikeRound } = await import('./clients');
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => sshLikeRound(door.address.port, 20_000)),
    );
    expect(results.filter((ok) => !ok)).toHaveLength(0);
    expect(manager.status('a').totalConnections + manager.status('b').totalConnections).toBe(1000);
  }, 60_000);
});
