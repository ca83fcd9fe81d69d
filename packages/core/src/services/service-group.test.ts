import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { TunnelmuxEvent } from '../events/types';
import { liveClient } from '../test-utils/live-client';
import { memoryProvider } from '../test-utils/memory-provider';
import { relayProvider } from '../test-utils/relay-provider';
import { startBannerServer } from '../testing/banner-server';
import { createServiceGroup } from './index';

const run = promisify(execFile);
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function group() {
  const g = createServiceGroup();
  cleanups.push(() => g.shutdown());
  const events: TunnelmuxEvent[] = [];
  g.events.on((event) => events.push(event));
  return { g, events };
}

describe('a service group', () => {
  it('holds one manager per service, merges their events with the service named, and reports status per service', async () => {
    const { g, events } = group();
    const memory = memoryProvider();
    const ssh = g.add('ssh', { target: '127.0.0.1:22', providers: [memory.provider], metricsInterval: 0 });
    const db = g.add('db', { target: '127.0.0.1:5432', providers: [memory.provider], metricsInterval: 0 });
    expect(ssh.service).toBe('ssh');
    expect(g.get('db')).toBe(db);
    expect(g.get('nope')).toBeUndefined();
    expect(g.names()).toEqual(['ssh', 'db']);
    await ssh.startMultiple([{ id: 'ts', provider: 'memory' }]);
    await db.startMultiple([
      { id: 'ts', provider: 'memory' },
      { id: 'cf', provider: 'memory' },
    ]);

    const connected = events
      .filter((e) => e.type === 'connected')
      .map((e) => `${e.service}/${'pathId' in e ? e.pathId : ''}`);
    expect(connected.sort()).toEqual(['db/cf', 'db/ts', 'ssh/ts']);
    // The merged stream numbers events itself: strictly increasing across services.
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    const status = g.status();
    expect(status.services.map((s) => [s.name, s.primary, s.paths.map((p) => p.id)])).toEqual([
      ['ssh', 'ts', ['ts']],
      ['db', 'ts', ['ts', 'cf']],
    ]);
    expect(g.getMetrics().services.map((s) => [s.service, s.paths.length])).toEqual([
      ['ssh', 1],
      ['db', 2],
    ]);
  });

  it('refuses a duplicate service and a conflicting service name, and an unknown one on remove', async () => {
    const { g } = group();
    g.add('web', { metricsInterval: 0 });
    expect(() => g.add('web', { metricsInterval: 0 })).toThrow(/service "web" already exists/);
    expect(() => g.add('x', { service: 'y', metricsInterval: 0 } as never)).toThrow(/service.*"y"/);
    await expect(g.remove('nope')).rejects.toThrow(/no service "nope"; services: web/);
  });

  it('writes one Prometheus exposition for every service that promtool accepts, each family once', async () => {
    const { g } = group();
    const memory = memoryProvider();
    for (const name of ['ssh', 'db']) {
      const manager = g.add(name, {
        target: '127.0.0.1:22',
        providers: [memory.provider],
        metricsInterval: 0,
      });
      await manager.start({ id: 'ts', provider: 'memory' });
    }
    const text = await g.prometheus();
    expect(g.prometheusContentType).toMatch(/^text\/plain/);
    expect(text).toContain('tunnelmux_path_up{service="ssh",path="ts",provider="memory"} 1');
    expect(text).toContain('tunnelmux_path_up{service="db",path="ts",provider="memory"} 1');
    expect(text).toContain('tunnelmux_failovers_total{service="db"} 0');
    const helps = text.split('\n').filter((line) => line.startsWith('# HELP '));
    expect(new Set(helps).size).toBe(helps.length);
    const dir = mkdtempSync(join(tmpdir(), 'tunnelmux-prom-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'metrics.prom');
    writeFileSync(file, text);
    // promtool reads the exposition from stdin; a duplicate family or bad line makes it exit non-zero.
    const { stdout, stderr } = await run('sh', ['-c', `promtool check metrics < "${file}"`], {
      timeout: 30_000,
    });
    expect(`${stdout}${stderr}`).not.toMatch(/error/i);
  });

  it('removes a service: its door stops accepting, its live connection drains, then it is gone', async () => {
    const { g, events } = group();
    const target = await startBannerServer();
    cleanups.push(() => target.close());
    const relays = relayProvider();
    const web = g.add('web', { target, protocol: 'ssh', providers: [relays.provider], metricsInterval: 0 });
    await web.start({ id: 'a', provider: 'relay' });
    const door = await web.listen({ port: 0 });
    const live = await liveClient(door.address.port);
    cleanups.push(async () => live.socket.destroy());
    await live.waitFor(target.banner.length);

    expect(g.stopping()).toEqual([]);
    const removing = g.remove('web', { drainMs: 60_000 });
    expect(g.names()).toEqual([]);
    await expect.poll(() => door.accepting).toBe(false);
    // What a stop that takes long waits for: `up` says it after 10 s.
    expect(g.stopping()).toEqual([
      `web: front door 127.0.0.1:${door.address.port} with 1 connection(s) open`,
    ]);
    live.socket.write('draining');
    await live.waitFor(target.banner.length + 8);
    await live.end();
    await removing;
    expect(g.stopping()).toEqual([]);
    expect(events.filter((e) => e.type === 'disconnected').map((e) => e.service)).toEqual(['web']);
    expect(g.status()).toEqual({ services: [] });
  });

  it('announces a reload on the merged stream, and shutdown ends it', async () => {
    const { g, events } = group();
    const reloaded = g.report({
      type: 'config-reloaded',
      added: ['db'],
      removed: [],
      changed: ['ssh/ts'],
      failed: [],
    });
    expect(events).toEqual([reloaded]);
    const subscription = g.events.subscribe('config-reloaded');
    await g.shutdown();
    await expect(subscription.next()).resolves.toMatchObject({ done: true });
    expect(() => g.add('late')).toThrow(/shut down/);
  });
});
