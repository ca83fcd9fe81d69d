import net from 'node:net';
import { ConfigError, createManager } from '@tunnelmux/core';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import socat from './index';

// How a user meets socat's failures: through the manager, with the message they would read.
describe('socat errors', () => {
  let target: BannerServer;
  beforeAll(async () => {
    target = await startBannerServer();
  });
  afterAll(() => target?.close());

  const manager = () =>
    createManager({
      target: { host: target.host, port: target.port },
      protocol: 'ssh',
      providers: [socat],
      failover: { backoffInitial: '5s' },
    });

  it('refuses a bind that is not one IPv4 address, naming the value', async () => {
    await using m = manager();
    const error = await m
      .start({ id: 'relay', provider: 'socat', options: { bind: 'localhost' } })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('[tunnelmux] [socat]');
    expect(error.message).toContain('option "bind"');
    expect(error.message).toContain('"localhost" (string)');
  });

  it('refuses 0.0.0.0, which would expose the target to the network', async () => {
    await using m = manager();
    const error = await m
      .start({ id: 'relay', provider: 'socat', options: { bind: '0.0.0.0' } })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('not 0.0.0.0');
  });

  // A missing tool is fatal: retrying cannot install it.
  it('fails for good when the socat binary is missing, with the install hint', async () => {
    await using m = manager();
    const status = await m.start({
      id: 'relay',
      provider: 'socat',
      options: { bin: '/nonexistent/bin/socat' },
    });
    expect(status.state).toBe('failed');
    expect(status.lastError).toContain('[tunnelmux] [socat] socat was not found at "/nonexistent/bin/socat"');
    expect(status.lastError).toContain('apt-get install socat');
  });

  // A fixed port someone else holds: socat's bind error is read from its own lines, and retried.
  it("reports a fixed port that is already taken, from socat's own error", async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      await using m = manager();
      const status = await m.start({ id: 'relay', provider: 'socat', options: { port } });
      expect(status.state).toBe('reconnecting');
      expect(status.lastError).toContain(`socat cannot listen on 127.0.0.1:${port}: the port is in use`);
      expect(status.lastError).toContain('option "port"');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('relays to the target once open: the SSH banner arrives through socat', async () => {
    await using m = manager();
    const status = await m.start({
      id: 'relay',
      provider: 'socat',
      options: { extraAddressOptions: ['nodelay'] },
    });
    expect(status.state).toBe('connected');
    expect(status.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    const [host, port] = status.endpoint!.split(':');
    const banner = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host, port: Number(port) });
      socket.once('data', (chunk) => {
        socket.destroy();
        resolve(chunk.toString('latin1'));
      });
      socket.once('error', reject);
    });
    expect(banner).toBe(target.banner);
  });
});
