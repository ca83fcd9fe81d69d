import { afterEach, describe, expect, it } from 'vitest';
import { tcpPair } from '../test-utils/tcp-pair';
import { ConnectionInfo } from './connection-info';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('ConnectionInfo', () => {
  it("reads the client's address when first asked, and keeps it after the socket is gone", async () => {
    const { near, far } = await tcpPair(cleanups);
    const info = new ConnectionInfo(7, near);
    expect(info.client).toBe(`127.0.0.1:${far.localPort}`);
    near.destroy();
    expect(info.client).toBe(`127.0.0.1:${far.localPort}`);
  });

  it('says `unknown` for a client whose socket went before anyone asked, without remembering it', async () => {
    const { near } = await tcpPair(cleanups);
    const info = new ConnectionInfo(1, near);
    near.destroy();
    expect(info.client).toBe('unknown');
  });

  it('counts no bytes until told where they are kept, then reads them from there each time', () => {
    const info = new ConnectionInfo(3, { remoteAddress: '127.0.0.1', remotePort: 4 } as never);
    expect([info.bytesIn, info.bytesOut]).toEqual([0, 0]);
    let counts = { bytesIn: 5, bytesOut: 6 };
    info.follow(() => counts);
    expect([info.bytesIn, info.bytesOut]).toEqual([5, 6]);
    counts = { bytesIn: 50, bytesOut: 60 };
    expect([info.bytesIn, info.bytesOut]).toEqual([50, 60]);
  });

  it('snapshots as a plain status entry, with pathId only once set', () => {
    const info = new ConnectionInfo(3, { remoteAddress: '::1', remotePort: 9 } as never);
    info.attempts = 2;
    info.heldBytes = 10;
    expect(info.snapshot()).toEqual({
      id: 3,
      client: '::1:9',
      bytesIn: 0,
      bytesOut: 0,
      heldBytes: 10,
      openedAt: info.openedAt,
      attempts: 2,
    });
    expect('pathId' in info.snapshot()).toBe(false);
    info.pathId = 'b';
    info.follow(() => ({ bytesIn: 1, bytesOut: 2 }));
    expect(info.snapshot()).toMatchObject({ pathId: 'b', bytesIn: 1, bytesOut: 2 });
  });
});
