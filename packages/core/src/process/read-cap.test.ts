import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { capReadRate } from './read-cap';

describe('capReadRate', () => {
  it('reads a flood at about the cap: the writer waits, nothing is lost', async () => {
    const stream = new PassThrough({ highWaterMark: 16 * 1024 });
    // 1 MB/s with a 64 KiB burst: 512 KiB should take about half a second, certainly more than a quarter.
    capReadRate(stream, 1024 * 1024, 64 * 1024);
    let read = 0;
    stream.on('data', (chunk: Buffer) => {
      read += chunk.length;
    });
    const total = 512 * 1024;
    const started = performance.now();
    const chunk = Buffer.alloc(16 * 1024);
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
    }
    await new Promise<void>((resolve) => {
      const check = () => (read >= total ? resolve() : setTimeout(check, 10));
      check();
    });
    // A lower bound only (a loaded machine may be slower, never faster): without the cap this takes ~1 ms.
    expect(performance.now() - started).toBeGreaterThan(250);
    expect(read).toBe(total);
  });
});
