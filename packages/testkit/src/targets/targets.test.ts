import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { readFaults } from '../forwarder/faults';
import { FaultPlan } from './fault-plan';
import { freePort, readBanner, startBannerTarget, startEchoServer } from './servers';

describe('targets', () => {
  it('the echo server sends every byte back', async () => {
    await using echo = await startEchoServer();
    const socket = net.connect({ host: '127.0.0.1', port: echo.port });
    const back = await new Promise<string>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('data', (chunk) => resolve(chunk.toString()));
      socket.write('hello');
    });
    socket.destroy();
    expect(back).toBe('hello');
  });

  it('the banner target speaks first and counts connections', async () => {
    await using target = await startBannerTarget('SSH-2.0-count\r\n');
    expect(await readBanner(target.port)).toBe('SSH-2.0-count\r\n');
    expect(await readBanner(target.port)).toBe('SSH-2.0-count\r\n');
    expect(target.connections).toBe(2);
  });

  it('freePort returns a bindable loopback port', async () => {
    const port = await freePort();
    const server = net.createServer().listen({ host: '127.0.0.1', port });
    await new Promise((resolve) => server.once('listening', resolve));
    server.close();
  });
});

describe('FaultPlan', () => {
  it('writes one fault file per path and cleans up its folder', () => {
    const plan = new FaultPlan();
    expect(readFaults(plan.fileFor('a'))).toEqual({});
    plan.set('a', { mode: 'blackhole' });
    expect(JSON.parse(readFileSync(plan.fileFor('a'), 'utf8'))).toEqual({ mode: 'blackhole' });
    plan.clear('a');
    expect(readFaults(plan.fileFor('a'))).toEqual({});
    plan.dispose();
    expect(() => readFileSync(plan.fileFor('a'))).toThrow(/ENOENT/);
  });

  it('refuses a path id that would escape its folder', () => {
    using plan = new FaultPlan();
    expect(() => plan.fileFor('../x')).toThrow(/bad path id/);
  });
});
