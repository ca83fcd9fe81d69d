import { describe, expect, it } from 'vitest';
import type * as root from '../index';
import { createManager } from './manager';

describe("the manager's public surface", () => {
  it('offers what a user needs and none of the plumbing the front door used to reach into', async () => {
    const manager = createManager({ metricsInterval: 0 });
    for (const gone of ['routes', 'reportDialFailure', 'reportRefused', 'isShuttingDown']) {
      expect(gone in manager, gone).toBe(false);
    }
    // Type-level: `pnpm typecheck` fails if any of these becomes public again.
    // @ts-expect-error the bus is private; users read events through `manager.events`
    void manager.bus;
    // @ts-expect-error emitting is the engine's job
    void manager.emit;
    // @ts-expect-error the root entry has no Route type carrying the internal runner
    type _Route = root.Route;
    expect(typeof manager.events.subscribe).toBe('function');
    await manager.shutdown();
  });
});
