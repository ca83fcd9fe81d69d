import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type * as root from '../index';
import * as rootValues from '../index';
import * as services from '../services/index';
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

  it('offers the service group on its own subpath, built and exported, and keeps it out of the root', () => {
    expect(Object.keys(services).sort()).toEqual(['ServiceGroup', 'createServiceGroup']);
    expect('createServiceGroup' in rootValues || 'ServiceGroup' in rootValues).toBe(false);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.exports['./services']).toEqual({
      types: './dist/services/index.d.ts',
      import: './dist/services/index.js',
    });
    expect(readFileSync(new URL('../../tsup.config.ts', import.meta.url), 'utf8')).toContain(
      "'src/services/index.ts'",
    );
  });
});
