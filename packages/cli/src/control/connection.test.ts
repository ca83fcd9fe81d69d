import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Connection, DEFAULT_LIMITS } from './connection';

let root: string | undefined;
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  if (root) rmSync(root, { recursive: true, force: true });
});

it('stops reading from a client that floods bad lines and reads no answer, so answers cannot pile up', async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tmx-conn-'));
  const file = path.join(root, 'c.sock');
  let served: net.Socket | undefined;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    served = socket;
    new Connection(socket, DEFAULT_LIMITS, async () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(file, resolve));
  const client = net.connect(file);
  client.on('error', () => undefined);
  client.pause();
  // Each two-byte line earns an answer a hundred times its size; 8 MiB of them would be ~800 MiB of answers.
  const flood = Buffer.from('1\n'.repeat(64 * 1024));
  const limit = 8 * 1024 * 1024;
  let sent = 0;
  const more = () => {
    while (sent < limit) {
      sent += flood.length;
      if (!client.write(flood)) return;
    }
  };
  client.on('drain', more);
  more();
  // The server stops reading once its answers back up, and the client is left waiting to write.
  await expect.poll(() => served?.isPaused(), { timeout: 20_000 }).toBe(true);
  await expect.poll(() => client.writableNeedDrain, { timeout: 20_000 }).toBe(true);
  expect(sent).toBeLessThan(limit);
  // What waits in memory is about one socket buffer of answers, not one answer per line received.
  expect(served?.writableLength ?? 0).toBeLessThan(256 * 1024);
  client.destroy();
});
