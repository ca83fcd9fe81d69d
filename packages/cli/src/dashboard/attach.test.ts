import { describe, expect, it } from 'vitest';
import type { ControlHandlers } from '../control/handlers';
import { attachDashboard } from './attach';

const handlers = {} as ControlHandlers;
const socket = '/run/x/t.sock';

describe('attachDashboard', () => {
  it('does nothing unless asked, and imports nothing then', async () => {
    const never = () => Promise.reject(new Error('imported'));
    expect(await attachDashboard({}, { handlers, socket, load: never })).toBeUndefined();
  });

  it('says how to install @tunnelmux/dashboard when it is missing', async () => {
    // As Node reports a package that is not installed.
    const missing = () =>
      Promise.reject(
        Object.assign(
          new Error(
            "Cannot find package '@tunnelmux/dashboard' imported from /usr/lib/node_modules/@tunnelmux/cli/dist/up.js",
          ),
          { code: 'ERR_MODULE_NOT_FOUND' },
        ),
      );
    await expect(attachDashboard({ flag: true }, { handlers, socket, load: missing })).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(
        /needs the @tunnelmux\/dashboard package, which is not installed; install it .*npm install -g @tunnelmux\/dashboard/,
      ),
    });
  });

  it('refuses a non-loopback address without the opt-in, before importing anything', async () => {
    const never = () => Promise.reject(new Error('imported'));
    await expect(
      attachDashboard({ flag: '0.0.0.0:8080' }, { handlers, socket, load: never }),
    ).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining(
        '--dashboard 0.0.0.0:8080 is not a loopback address; add --dashboard-public',
      ),
    });
    await expect(
      attachDashboard({ config: { listen: '10.0.0.1:80' } }, { handlers, socket, load: never }),
    ).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('dashboard.listen 10.0.0.1:80'),
    });
  });
});
