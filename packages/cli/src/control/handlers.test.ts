import type { TunnelmuxEvent } from '@tunnelmux/core';
import { describe, expect, it } from 'vitest';
import { controlHandlers } from './handlers';
import type { ControlContext, ControlManager } from './server';

function context(extra: Partial<ControlContext> = {}): ControlContext {
  let primary: string | undefined = 'a';
  const manager = {
    status: () => ({ primary, autoFailover: true, degraded: false, paths: [] }),
    list: () => [],
    setPrimary: (id: string | undefined) => {
      primary = id;
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

  it('acts on the default service and refuses another by name', () => {
    const handlers = controlHandlers(context());
    expect(handlers.primary({ id: 'b' }, 'default')).toMatchObject({ primary: 'b' });
    expect(() => handlers.primary({ id: 'a' }, 'web')).toThrow(/no service "web"/);
  });
});
