import net from 'node:net';
import { createManager, type Manager, type Target, type TunnelmuxEvent } from '@tunnelmux/core';
import { type BannerServer, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import { type Sshd, startSshd } from '@tunnelmux/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sshProvider } from './index';
import { jumpOptions } from './test-support';

// An open path over a real sshd: what happens after open, and that nothing outlives it.
describe('ssh provider against a real sshd: after open', () => {
  let jump: Sshd;
  let target: BannerServer;
  let manager: Manager | undefined;
  let events: TunnelmuxEvent[];

  beforeAll(async () => {
    jump = await startSshd();
    target = await startBannerServer();
  });
  afterEach(async () => {
    await jump.thaw();
    await manager?.shutdown();
    manager = undefined;
  });
  afterAll(async () => {
    await jump?.close();
    await target?.close();
  });

  function start(to: Target, options: Record<string, unknown> = {}) {
    manager = createManager({
      providers: [sshProvider],
      target: to,
      metricsInterval: 0,
      failover: { interval: 300, timeout: 2000, maxLatency: 2000, backoffInitial: 100, backoffMax: 500 },
    });
    events = [];
    manager.events.on((event) => events.push(event));
    return manager.start({ id: 'jump', provider: 'ssh', options: jumpOptions(jump, options) });
  }

  it('reports "channel N: open failed" as a failed dial when the jump host cannot reach the target', async () => {
    const closed = await freePort();
    // The forward opens (ssh binds it), but every probe through it fails on the far side.
    await start({ host: '127.0.0.1', port: closed });
    const failed = await waitFor(() =>
      events.find((event) => event.type === 'dial-failed' && event.source === 'provider'),
    );
    expect(failed).toMatchObject({ type: 'dial-failed', pathId: 'jump' });
    expect((failed as { reason: string }).reason).toContain(`cannot reach 127.0.0.1:${closed}`);
    expect((failed as { reason: string }).reason).toMatch(/: connect failed: Connection refused$/);
    expect(
      events.some((event) => event.type === 'log' && /channel \d+: open failed/.test(event.message)),
    ).toBe(true);
  });

  it('a drop after open is an ordinary exit: explained, then reopened by the manager', async () => {
    const status = await start(target);
    expect(status.state).toBe('connected');
    const firstPid = status.pid!;
    // The server ends every session: ssh exits 255 on its own.
    for (const session of await jump.sessions()) process.kill(session, 'SIGKILL');
    const dropped = await waitFor(() => events.find((event) => event.type === 'reconnecting'));
    // ssh words it as "closed by remote host" or "Broken pipe", depending on who notices first.
    expect((dropped as { reason: string }).reason).toMatch(
      /\S+@127\.0\.0\.1:\d+ stopped answering or dropped the connection \(ssh: "/,
    );
    expect(events.some((event) => event.type === 'error' && event.fatal)).toBe(false);
    await waitFor(() => {
      const now = manager!.status('jump');
      return 'state' in now && now.state === 'connected' && now.pid !== firstPid ? now : undefined;
    });
  });

  it('a frozen jump host is caught by ServerAlive* and the path comes back once it thaws', async () => {
    const status = await start(target, { serverAliveInterval: 1, serverAliveCountMax: 2 });
    expect(status.state).toBe('connected');
    await jump.freeze();
    const dropped = await waitFor(() => events.find((event) => event.type === 'reconnecting'), 20_000);
    expect((dropped as { reason: string }).reason).toMatch(/not responding|timed out/i);
    await jump.thaw();
    await waitFor(() => {
      const now = manager!.status('jump');
      return 'state' in now && now.state === 'connected' && now.pid !== status.pid ? now : undefined;
    }, 20_000);
  });

  it('shutdown leaves no ssh process and no sshd session behind', async () => {
    const status = await start(target);
    const pid = status.pid!;
    expect(await isAlive(pid)).toBe(true);
    expect((await jump.sessions()).length).toBeGreaterThan(0);
    await manager!.shutdown();
    manager = undefined;
    expect(await isAlive(pid)).toBe(false);
    // The server notices the client is gone and ends its session processes.
    await waitFor(async () => ((await jump.sessions()).length === 0 ? true : undefined));
  });
});

/** Poll `probe` until it returns something, bounded. */
async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
