import net from 'node:net';
import { createTestContext } from '@tunnelmux/core/testing';
import { describe, expect, it } from 'vitest';
import socat from './index';
import { socatOptions } from './options';

// A relay that cannot reach the target counts against its path at once, read from socat's `E connect(...)` line.
describe('socat dial failures', () => {
  it('reports a relay that cannot reach the target as a failed dial', async () => {
    // A port that was free a moment ago: nothing listens there, so the relay's connect is refused.
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const test = createTestContext({ target: { host: '127.0.0.1', port: closed } });
    const tunnel = await socat.open(socatOptions.parse({}), test.ctx);
    try {
      const before = test.dialFailures.length;
      const socket = await tunnel.dial(AbortSignal.timeout(5000));
      // socat accepted, then its relay failed to connect and hung up on us (the socket is half-open: 'end').
      await new Promise<void>((resolve) => {
        socket.on('error', () => resolve());
        socket.once('end', () => resolve());
        socket.resume();
      });
      socket.destroy();
      const deadline = Date.now() + 5000;
      while (test.dialFailures.length === before && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(test.dialFailures.at(-1)).toMatch(
        new RegExp(`^socat could not reach 127\\.0\\.0\\.1:${closed}: connect\\(.*Connection refused`),
      );
    } finally {
      test.abort();
      await tunnel.close();
    }
  });
});
