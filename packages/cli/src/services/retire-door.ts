import type { FrontDoor } from '@tunnelmux/core';

/** Stop accepting on an old front door at once; its live connections finish (at most `drainMs`), then it closes. */
export async function retireDoor(door: FrontDoor, drainMs: number): Promise<void> {
  await door.stopAccepting();
  await door.close({ drainTimeout: drainMs });
}
