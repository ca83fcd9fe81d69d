import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { processFigures } from './process-figures';

describe('processFigures', () => {
  it('gives RSS, V8 heap and the live handles, which count an open server', async () => {
    const before = processFigures();
    expect(before.rssBytes).toBeGreaterThan(0);
    expect(before.heapUsedBytes).toBeGreaterThan(0);
    expect(before.heapTotalBytes).toBeGreaterThanOrEqual(before.heapUsedBytes!);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    try {
      expect(processFigures().activeResources).toBeGreaterThan(before.activeResources!);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
