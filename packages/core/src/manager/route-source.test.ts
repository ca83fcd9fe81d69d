import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deferred } from '../async/deferred';
import { dialTcp } from '../net/tcp';
import { defineProvider } from '../provider/define-provider';
import type { Target } from '../provider/types';
import { liveClient } from '../test-utils/live-client';
import { startBannerServer } from '../testing/banner-server';
import { createManager } from './manager';

// The manager's routes as the front door dials them: through `dial()`, or straight to a tunnel's `connectTo`.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One path whose dial() reaches `dialled`, declaring `connectTo` (when given), and counting its dial() calls. */
function twoDoorProvider(dialled: Target, connectTo: Target | undefined) {
  const counts = { dials: 0 };
  const provider = defineProvider({
    apiVersion: 1,
    name: 'two-door',
    summary: 'dial() and connectTo lead to different servers, so a test can tell which one the door used',
    access: {
      options: z.object({}).strict(),
      async open() {
        const end = deferred<{ reason: string }>();
        return {
          endpoint: `127.0.0.1:${dialled.port}`,
          ...(connectTo ? { connectTo } : {}),
          dial: (signal?: AbortSignal) => {
            counts.dials += 1;
            return dialTcp(dialled, { signal });
          },
          done: end.promise,
          close: async () => end.resolve({ reason: 'closed' }),
        };
      },
    },
  });
  return { provider, counts };
}

async function doorOver(connectTo: 'declared' | 'absent') {
  const viaDial = await startBannerServer('SSH-2.0-via-dial\r\n');
  const viaConnectTo = await startBannerServer('SSH-2.0-via-connectTo\r\n');
  cleanups.push(
    () => viaDial.close(),
    () => viaConnectTo.close(),
  );
  const { provider, counts } = twoDoorProvider(viaDial, connectTo === 'declared' ? viaConnectTo : undefined);
  const manager = createManager({
    target: viaDial,
    protocol: 'ssh',
    providers: [provider],
    // One probe at start, none during the test: every later dial() is the door's.
    failover: { interval: 60_000, timeout: 1000 },
    metricsInterval: 0,
  });
  cleanups.push(() => manager.shutdown());
  await manager.start({ id: 'p', provider: 'two-door' });
  const door = await manager.listen({ port: 0 });
  const dialsBefore = counts.dials;
  const client = await liveClient(door.address.port);
  cleanups.push(async () => client.socket.destroy());
  await client.waitFor('SSH-2.0-via-'.length + 1);
  await expect
    .poll(() => client.received().toString('latin1').endsWith('\r\n'), { timeout: 5000 })
    .toBe(true);
  return { banner: client.received().toString('latin1'), doorDials: counts.dials - dialsBefore, manager };
}

describe('the routes the front door dials', () => {
  it("connects to a tunnel's connectTo itself, without calling its dial()", async () => {
    const { banner, doorDials, manager } = await doorOver('declared');
    expect(banner).toBe('SSH-2.0-via-connectTo\r\n');
    expect(doorDials).toBe(0);
    expect(manager.status('p')).toMatchObject({ activeConnections: 1, totalConnections: 1 });
  });

  it('calls dial() for a tunnel without connectTo', async () => {
    const { banner, doorDials } = await doorOver('absent');
    expect(banner).toBe('SSH-2.0-via-dial\r\n');
    expect(doorDials).toBe(1);
  });
});
