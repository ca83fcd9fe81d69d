import type { TunnelmuxEvent } from '@tunnelmux/core';
import { describe, expect, it } from 'vitest';
import { controlHandlers } from './handlers';
import type { ControlContext, ControlManager } from './server';

function context(extra: Partial<ControlContext> = {}): ControlContext {
  let primary: string | undefined = 'a';
  const status = () => ({ primary, autoFailover: true, degraded: false, paths: [] });
  // Like `up`'s services: the instance picks the service, the only one when none is named.
  const manager = {
    status,
    list: () => [],
    setPrimary: (id: string | undefined, service?: string) => {
      if (service !== undefined && service !== 'default')
        throw Object.assign(new Error(`[tunnelmux] no service "${service}"; known services: default`), {
          code: 'ERR_NO_SERVICE',
        });
      primary = id;
      return { name: 'default', ...status() };
    },
  } as unknown as ControlManager;
  return {
    instance: manager,
    paths: manager,
    info: () => ({ pid: 1 }),
    recent: () => [] as TunnelmuxEvent[],
    ...extra,
  };
}

describe('control handlers', () => {
  it('answers `dashboard` with the address once one is served, and says how to start one otherwise', async () => {
    const none = controlHandlers(context());
    await expect(none.call({ id: 1, method: 'dashboard', params: {} })).rejects.toMatchObject({
      code: 'ERR_NO_DASHBOARD',
      message: expect.stringContaining('tunnelmux up --dashboard'),
    });
    const address = { url: 'http://127.0.0.1:1/', open: 'http://127.0.0.1:1/?token=x' };
    const served = controlHandlers(context({ dashboard: () => address }));
    expect(await served.call({ id: 1, method: 'dashboard', params: {} })).toEqual(address);
  });

  it('hands the service to the instance, from the route or from the request', () => {
    const handlers = controlHandlers(context());
    expect(handlers.primary({ id: 'b' }, 'default')).toMatchObject({ name: 'default', primary: 'b' });
    expect(handlers.primary({ id: 'c' })).toMatchObject({ primary: 'c' });
    expect(() => handlers.primary({ id: 'a' }, 'web')).toThrow(/no service "web"/);
    expect(() => handlers.primary({ id: 'a', service: 'web' })).toThrow(/no service "web"/);
  });

  it('reloads through the instance; an invalid config answers ERR_CONFIG, an instance without one ERR_NO_RELOAD', async () => {
    await expect(controlHandlers(context()).reload()).rejects.toMatchObject({ code: 'ERR_NO_RELOAD' });
    const report = { added: ['b'], removed: [], changed: [], failed: [] };
    const reloading = controlHandlers(context({ reload: async () => report }));
    expect(await reloading.call({ id: 1, method: 'reload', params: {} })).toEqual(report);
    const invalid = Object.assign(new Error('tunnelmux.yaml:3:5: paths.0.id must be unique'), {
      name: 'ConfigFileError',
    });
    const refusing = controlHandlers(
      context({
        reload: async () => {
          throw invalid;
        },
      }),
    );
    await expect(refusing.reload()).rejects.toMatchObject({ code: 'ERR_CONFIG', message: invalid.message });
  });
});
