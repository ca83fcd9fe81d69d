import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dialTcp } from '../net/tcp';
import { probeTunnel } from './probe';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A loopback server that sends `banner` and reports how each connection ended on its side. */
async function bannerServer(banner: string) {
  const endings: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', (error: NodeJS.ErrnoException) => endings.push(error.code ?? error.message));
    socket.on('end', () => endings.push('end'));
    socket.write(banner);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as net.AddressInfo;
  const tunnel = { dial: (signal: AbortSignal) => dialTcp({ host: '127.0.0.1', port }, { signal }) };
  return { endings, tunnel };
}

describe('probeTunnel', () => {
  it('passes on an SSH banner and resets the connection, so it leaves no TIME_WAIT behind', async () => {
    const { endings, tunnel } = await bannerServer('SSH-2.0-test\r\n');
    const result = await probeTunnel(tunnel, { protocol: 'ssh', timeoutMs: 2000, maxLatencyMs: 2000 });
    expect(result).toMatchObject({ ok: true, spoke: true });
    // A reset reaches the server as ECONNRESET; a plain close would be a clean end (and a TIME_WAIT here).
    await expect.poll(() => endings).toEqual(['ECONNRESET']);
  });

  it('fails on a banner that is not SSH, naming what it got', async () => {
    const { tunnel } = await bannerServer('HTTP/1.1 400 Bad Request\r\n');
    const result = await probeTunnel(tunnel, { protocol: 'ssh', timeoutMs: 2000, maxLatencyMs: 2000 });
    expect(result).toMatchObject({
      ok: false,
      error: expect.stringMatching(/expected an SSH banner, got "HTTP/),
    });
  });

  it('stops at once when the abort passed to onStart is called', async () => {
    const silent = net.createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = silent.address() as net.AddressInfo;
    const tunnel = { dial: (signal: AbortSignal) => dialTcp({ host: '127.0.0.1', port }, { signal }) };
    const result = await probeTunnel(tunnel, {
      protocol: 'ssh',
      timeoutMs: 60_000,
      maxLatencyMs: 60_000,
      onStart: (abort) => setImmediate(() => abort(new Error('supervisor stopped'))),
    });
    expect(result).toEqual({ ok: false, error: 'supervisor stopped', inconclusive: false });
  });
});
