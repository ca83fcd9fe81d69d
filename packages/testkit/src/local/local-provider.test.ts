import { createManager } from '@tunnelmux/core';
import { isAlive, testProviderContract } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesMatching } from '../scenario/processes';
import { FaultPlan } from '../targets/fault-plan';
import { type BannerTarget, readBanner, startBannerTarget } from '../targets/servers';
import { localProvider } from './local-provider';

const canary = 'canary-5f1d9e0b-local-secret';

testProviderContract({
  provider: localProvider,
  options: () => ({ secret: canary, readyTimeoutMs: 10_000 }),
  badOptions: [{ faultFile: 42 }, { unknown: true }, { secret: '' }, { readyTimeoutMs: 5 }],
  canary,
});

describe('local provider faults', () => {
  let target: BannerTarget;
  const plan = new FaultPlan();

  beforeAll(async () => {
    target = await startBannerTarget();
  });
  afterAll(async () => {
    await target.close();
    plan.dispose();
  });

  // Opens one path straight through the provider, as the manager would, with a fault file per test.
  async function open(id: string, extra: Record<string, unknown> = {}) {
    const manager = createManager({
      target: { host: target.host, port: target.port },
      protocol: 'ssh',
      providers: [localProvider],
      metricsInterval: 0,
      // openTimeout above readyTimeoutMs, so a slow start on a loaded machine is the provider's call, not the manager's.
      failover: { interval: 200, timeout: 500, fall: 2, backoffInitial: 200, openTimeout: 20_000 },
    });
    const status = await manager.start({
      id,
      provider: 'local',
      options: { faultFile: plan.fileFor(id), ...extra },
    });
    return { manager, status };
  }

  it('forwards to the target and reports its pid and endpoint', async () => {
    const { manager, status } = await open('plain');
    expect(status.state).toBe('connected');
    expect(status.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    const port = Number(status.endpoint!.split(':')[1]);
    expect(await readBanner(port)).toBe(target.banner);
    const pid = status.pid!;
    await manager.shutdown();
    expect(await isAlive(pid)).toBe(false);
  });

  it('crash: the process exits when the fault file says so', async () => {
    const { manager, status } = await open('crash');
    const exited = new Promise<string>((resolve) =>
      manager.events.on((e) => e.type === 'state-change' && e.to === 'reconnecting' && resolve(e.reason)),
    );
    plan.set('crash', { mode: 'crash' });
    expect(await exited).toMatch(/process exited \(code 1\)/);
    expect(await isAlive(status.pid!)).toBe(false);
    await manager.shutdown();
  });

  it('blackhole: connections are accepted but never answered', async () => {
    const { manager, status } = await open('hole');
    plan.set('hole', { mode: 'blackhole' });
    const port = Number(status.endpoint!.split(':')[1]);
    // The forwarder polls its fault file every 50 ms; wait until it applies the change.
    await expect
      .poll(() =>
        readBanner(port, { timeoutMs: 300 }).then(
          () => 'answered',
          () => 'silent',
        ),
      )
      .toBe('silent');
    await expect(readBanner(port, { timeoutMs: 300 })).rejects.toThrow(/no banner/);
    await manager.shutdown();
  });

  it('refuse: connections are reset at once', async () => {
    const { manager, status } = await open('refuse');
    plan.set('refuse', { mode: 'refuse' });
    const port = Number(status.endpoint!.split(':')[1]);
    await expect
      .poll(() =>
        readBanner(port, { timeoutMs: 1000 }).then(
          () => 'answered',
          (e: Error) => e.message,
        ),
      )
      .toMatch(/ECONNRESET|closed before/);
    await manager.shutdown();
  });

  it('slow: the banner arrives after the injected latency', async () => {
    const { manager, status } = await open('slow');
    plan.set('slow', { mode: 'slow', latencyMs: 400 });
    const port = Number(status.endpoint!.split(':')[1]);
    const timed = async () => {
      const started = performance.now();
      await readBanner(port, { timeoutMs: 3000 });
      return performance.now() - started;
    };
    // A lower bound only: a slow machine may add delay, never remove it.
    await expect.poll(timed).toBeGreaterThanOrEqual(390);
    await manager.shutdown();
  });

  it('flap: the path alternates between answering and silence', async () => {
    const { manager, status } = await open('flap');
    plan.set('flap', { mode: 'flap', flapMs: 300 });
    const port = Number(status.endpoint!.split(':')[1]);
    const seen = new Set<string>();
    // Sample every ~50 ms for up to ~8 s: both behaviours must show up.
    for (let i = 0; i < 80 && seen.size < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen.add(
        await readBanner(port, { timeoutMs: 150 }).then(
          () => 'answered',
          () => 'silent',
        ),
      );
    }
    expect([...seen].sort()).toEqual(['answered', 'silent']);
    await manager.shutdown();
  });

  it('noise: binary junk and 10 MB lines on stdout reach the log truncated, and the path keeps forwarding', async () => {
    const { manager, status } = await open('noisy');
    const logs: string[] = [];
    manager.events.on((e) => e.type === 'log' && e.pathId === 'noisy' && logs.push(e.message));
    const port = Number(status.endpoint!.split(':')[1]);
    plan.set('noisy', { noise: 'long-lines' });
    await expect
      .poll(() => logs.some((m) => m.startsWith('xxxx') && m.endsWith('[truncated]')), { timeout: 20_000 })
      .toBe(true);
    expect(Math.max(...logs.map((m) => m.length))).toBeLessThan(5000);
    expect(await readBanner(port)).toBe(target.banner);
    plan.set('noisy', { noise: 'binary' });
    const before = logs.length;
    await expect.poll(() => logs.length, { timeout: 20_000 }).toBeGreaterThan(before + 10);
    expect(await readBanner(port)).toBe(target.banner);
    expect(manager.status('noisy').state).toBe('connected');
    await manager.shutdown();
  });

  it('startup hang: open gives up after readyTimeoutMs and leaves no process', async () => {
    plan.set('hang', { startup: 'hang' });
    const { manager, status } = await open('hang', { readyTimeoutMs: 500 });
    expect(status.state).toBe('reconnecting');
    expect(status.lastError).toMatch(/did not become ready.*printed no line/);
    expect(status.pid).toBeUndefined();
    await manager.shutdown();
    // The hung forwarder was killed when open gave up: none is left with this fault file in its argv.
    expect(await processesMatching(plan.fileFor('hang'))).toEqual([]);
  });

  it('startup auth: open fails with a fatal ProviderError, reported once, never retried', async () => {
    plan.set('auth', { startup: 'auth' });
    const { manager, status } = await open('auth');
    expect(status.state).toBe('failed');
    expect(status.lastError).toMatch(/^\[tunnelmux\] \[local\] .*authentication failed/);
    expect(status.pid).toBeUndefined();
    await manager.shutdown();
  });

  it('startup crash: open fails, not fatal, so the manager retries', async () => {
    plan.set('boom', { startup: 'crash' });
    const { manager, status } = await open('boom');
    expect(status.state).toBe('reconnecting');
    expect(status.lastError).toMatch(/exited \(code 3\)/);
    await manager.shutdown();
  });
});
