import type { ManagerStatus, MetricsSnapshot, PathStatus, TunnelmuxEvent } from '@tunnelmux/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stripAnsi } from '../util/output';
import { LiveView, type LiveViewManager } from './live-view';
import { servicesStatusText } from './status';

const path = (id: string, primary = false): PathStatus =>
  ({
    id,
    provider: 'local',
    state: 'connected',
    priority: 1,
    primary,
    pinned: false,
    bytesIn: 0,
    bytesOut: 0,
    consecutiveFailures: 0,
  }) as unknown as PathStatus;

const service = (name: string, listen: string | undefined, ids: string[]) => ({
  name,
  listen,
  primary: ids[0],
  autoFailover: true,
  degraded: false,
  paths: ids.map((id, index) => path(id, index === 0)),
});

describe('several services on screen', () => {
  it('gives each service a heading with its front door, then its own paths', () => {
    const text = stripAnsi(
      servicesStatusText({
        services: [service('ssh', '127.0.0.1:2222', ['ts', 'cf']), service('db', undefined, ['ts'])],
      }),
    );
    const [ssh, db] = text.split('\n\n');
    expect(ssh).toMatch(/^ssh {2}127\.0\.0\.1:2222\n/);
    expect(ssh).toMatch(/▶\s+ts\s+local\s+connected/);
    expect(ssh).toMatch(/\n\s+cf\s+local/);
    expect(db).toMatch(/^db {2}\(no front door\)\n/);
    expect(db).toContain('primary ts');
  });

  describe('the live view', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it('draws one table per service and keeps latency trends apart for paths of the same id', () => {
      const chunks: string[] = [];
      const out = {
        isTTY: true,
        columns: 200,
        rows: 60,
        write: (chunk: string) => {
          chunks.push(String(chunk));
          return true;
        },
        on: () => out,
        off: () => out,
        once: () => out,
        removeListener: () => out,
      } as unknown as NodeJS.WriteStream;
      const listeners = new Set<(event: TunnelmuxEvent) => void>();
      const status = {
        services: [service('ssh', '127.0.0.1:2222', ['ts']), service('db', '127.0.0.1:5432', ['ts'])],
      } as unknown as Partial<ManagerStatus> & { services: (ManagerStatus & { name: string })[] };
      const fake: LiveViewManager = {
        events: {
          on: (listener) => {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
        },
        status: () => status,
        getMetrics: () => ({ failovers: 0, primaryChanges: 0, refusedConnections: 0 }) as MetricsSnapshot,
      };
      const view = new LiveView(fake, { socket: '/run/t.sock', name: 't' }, out);
      view.start();
      view.ready(undefined, undefined);
      let seq = 0;
      // Only db's ts gets probes: ssh's ts must show no trend.
      for (const latencyMs of [5, 50, 100]) {
        for (const listener of listeners)
          listener({
            type: 'probe',
            service: 'db',
            pathId: 'ts',
            provider: 'local',
            ok: true,
            latencyMs,
            consecutiveFailures: 0,
            time: Date.now(),
            seq: ++seq,
          } as TunnelmuxEvent);
      }
      vi.advanceTimersByTime(300);
      const frame = stripAnsi(chunks.join('')).split('ssh  127.0.0.1:2222').pop() ?? '';
      const [sshPart, dbPart] = frame.split('db  127.0.0.1:5432');
      expect(dbPart).toMatch(/[▁▂▃▄▅▆▇█]{3}/);
      expect(sshPart).not.toMatch(/[▁▂▃▄▅▆▇█]/);
      view.stop();
    });
  });
});
