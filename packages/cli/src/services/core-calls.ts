import type { FrontDoor, Manager } from '@tunnelmux/core';
import type { PathSpec } from '../config/diff';

// The reload calls of core's manager and front door (issue 15), in one place. A core without them (an older
// @tunnelmux/core beside this CLI) still reloads, less gently: each fallback says what it gives up.

interface ReloadableManager {
  drain?(id: string, options: { timeoutMs: number }): Promise<unknown>;
  replace?(spec: PathSpec, options: { drainMs: number }): Promise<unknown>;
  reconfigure?(settings: { failover: Record<string, unknown> }): void;
}

interface StoppableDoor {
  stopAccepting?(): Promise<void> | void;
}

/** Take a path out of rotation now, let its live connections finish (at most `drainMs`), then remove it. */
export async function drainPath(manager: Manager, id: string, drainMs: number): Promise<void> {
  const reloadable = manager as unknown as ReloadableManager;
  if (reloadable.drain) await reloadable.drain(id, { timeoutMs: drainMs });
  // Without drain: stopping cuts the path's live connections.
  else await manager.stop(id);
  if (manager.list().some((path) => path.id === id)) await manager.remove(id);
}

/** Start the new version of a path before the old one drains (at most `drainMs`). */
export async function replacePath(manager: Manager, spec: PathSpec, drainMs: number): Promise<void> {
  const reloadable = manager as unknown as ReloadableManager;
  if (reloadable.replace) {
    await reloadable.replace(spec, { drainMs });
    return;
  }
  // Without replace: the old one goes first, so the id is free for the new one.
  await drainPath(manager, spec.id, drainMs);
  await manager.start(spec);
}

/** Apply new failover settings to the running paths, without a restart. */
export function reconfigure(manager: Manager, failover: Record<string, unknown>): void {
  const reloadable = manager as unknown as ReloadableManager;
  if (!reloadable.reconfigure) {
    throw new Error(
      '[tunnelmux] this @tunnelmux/core cannot change failover settings of running paths; restart tunnelmux to apply them',
    );
  }
  reloadable.reconfigure({ failover });
}

/** Stop accepting on an old front door, let its connections finish (at most `drainMs`), then close it. */
export async function retireDoor(door: FrontDoor, drainMs: number): Promise<void> {
  const stoppable = door as unknown as StoppableDoor;
  if (stoppable.stopAccepting) {
    await stoppable.stopAccepting();
    const deadline = Date.now() + drainMs;
    while (door.connections().length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(1, deadline - Date.now()))));
    }
  }
  // close() stops accepting too, and drains for the front door's own drainTimeout before it cuts.
  await door.close();
}
