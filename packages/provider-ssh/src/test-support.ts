// Shared pieces of this package's tests (not part of the build: tsup bundles src/index.ts only).
import {
  createManager,
  type Manager,
  type PathStatus,
  type Target,
  type TunnelmuxEvent,
} from '@tunnelmux/core';
import { jumpPathOptions, type Sshd } from '@tunnelmux/testkit';
import { sshProvider } from './index';
import type { SshOptions } from './options';

/** Options that log in to `jump` with its client key and pinned host key, ignoring ~/.ssh/config. */
export function jumpOptions(jump: Sshd, extra: Partial<SshOptions> = {}): Record<string, unknown> {
  return jumpPathOptions(jump, extra);
}

export interface FirstOpen {
  manager: Manager;
  status: PathStatus;
  events: TunnelmuxEvent[];
  /** The first `error` event, when the first open failed. */
  error?: Extract<TunnelmuxEvent, { type: 'error' }>;
}

/** Start one ssh path under a real manager and report how its first open went. */
export async function openOnce(options: Record<string, unknown>, target: Target): Promise<FirstOpen> {
  const manager = createManager({
    providers: [sshProvider],
    target,
    metricsInterval: 0,
    // A failed first open must not be retried during the test.
    failover: { backoffInitial: 60_000, backoffMax: 60_000, interval: 500, timeout: 2000, maxLatency: 2000 },
  });
  const events: TunnelmuxEvent[] = [];
  manager.events.on((event) => events.push(event));
  const status = await manager.start({ id: 'jump', provider: 'ssh', options });
  const error = events.find(
    (event): event is Extract<TunnelmuxEvent, { type: 'error' }> => event.type === 'error',
  );
  return { manager, status, events, error };
}
