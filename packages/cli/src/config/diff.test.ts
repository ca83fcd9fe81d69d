import { failoverSchema } from '@tunnelmux/core/config';
import { describe, expect, it } from 'vitest';
import { describeDiff, diffServices } from './diff';
import type { PathConfig, ServiceConfig } from './schema';

const path = (id: string, extra: Partial<PathConfig> = {}): PathConfig => ({
  id,
  provider: 'local',
  mode: 'access',
  options: {},
  ...extra,
});

const service = (name: string, extra: Partial<ServiceConfig> = {}): ServiceConfig => ({
  name,
  listen: '127.0.0.1:0',
  target: { host: '127.0.0.1', port: 22 },
  protocol: 'ssh',
  failover: failoverSchema.parse({}),
  drain: 30_000,
  paths: [path('a'), path('b')],
  field: ['services', name],
  pathFields: [],
  optionsFields: [],
  ...extra,
});

describe('diffServices', () => {
  it('finds nothing to do when nothing changed', () => {
    const diff = diffServices([service('a'), service('b')], [service('a'), service('b')]);
    expect(diff).toEqual({ addedServices: [], removedServices: [], changedServices: [] });
    expect(describeDiff(diff)).toEqual({ added: [], removed: [], changed: [] });
  });

  it('adds and removes whole services', () => {
    const diff = diffServices([service('a'), service('c')], [service('a'), service('b')]);
    expect(diff.addedServices.map((s) => s.name)).toEqual(['b']);
    expect(diff.removedServices.map((s) => s.name)).toEqual(['c']);
    expect(diff.changedServices).toEqual([]);
    expect(describeDiff(diff)).toEqual({ added: ['b'], removed: ['c'], changed: [] });
  });

  it('adds, removes and changes paths of one service, leaving the others alone', () => {
    // Explicit priorities: removing x must not renumber y and z.
    const before = service('a', {
      paths: [path('x', { priority: 1 }), path('y', { priority: 2 }), path('z', { priority: 3 })],
    });
    const after = service('a', {
      paths: [
        path('y', { priority: 2, options: { faultFile: 'f' } }),
        path('z', { priority: 3 }),
        path('w', { priority: 4 }),
      ],
    });
    const [change] = diffServices([before], [after]).changedServices;
    expect(change?.addedPaths.map((p) => p.id)).toEqual(['w']);
    expect(change?.removedPaths).toEqual(['x']);
    expect(change?.changedPaths.map((p) => p.id)).toEqual(['y']);
    expect(change?.changedPaths[0]?.options).toEqual({ faultFile: 'f' });
    expect(change?.failover).toBeUndefined();
    expect(change?.listen).toBeUndefined();
  });

  it('sees a path whose effective target changed through its service', () => {
    const [change] = diffServices(
      [service('a')],
      [service('a', { target: { host: '127.0.0.1', port: 23 } })],
    ).changedServices;
    expect(change?.changedPaths.map((p) => p.id)).toEqual(['a', 'b']);
    expect(change?.changedPaths[0]?.target).toEqual({ host: '127.0.0.1', port: 23 });
  });

  it('applies failover, strategy, listen and drain changes as settings, not path restarts', () => {
    const diff = diffServices(
      [service('a')],
      [
        service('a', {
          failover: failoverSchema.parse({ fall: 5 }),
          strategy: 'latency',
          listen: '127.0.0.1:2222',
          drain: 1000,
        }),
      ],
    );
    const [change] = diff.changedServices;
    expect(change?.changedPaths).toEqual([]);
    expect(change?.failover).toMatchObject({ fall: 5, strategy: 'latency' });
    expect(change?.listen).toEqual({ from: '127.0.0.1:0', to: '127.0.0.1:2222' });
    expect(change?.drain).toBe(1000);
    expect(describeDiff(diff).changed).toEqual(['a:failover', 'a:listen', 'a:drain']);
  });

  it('names settings a running service cannot take without a restart', () => {
    const [change] = diffServices([service('a')], [service('a', { protocol: 'tcp' })]).changedServices;
    expect(change?.needsRestart).toEqual(['protocol']);
  });

  it('lists paths as service/path in the report', () => {
    const diff = diffServices(
      [service('a'), service('c')],
      [service('a', { paths: [path('a'), path('b'), path('n')] }), service('b')],
    );
    expect(describeDiff(diff)).toEqual({ added: ['b', 'a/n'], removed: ['c'], changed: [] });
  });
});
