import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Faults, writeFaults } from '../forwarder/faults';

/** A temp folder of fault files, one per path: the test writes, the running forwarders follow. */
export class FaultPlan implements Disposable {
  readonly dir: string;

  constructor(prefix = 'tunnelmux-faults-') {
    this.dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  /** The fault file of `pathId` (it need not exist yet: a missing file means no faults). */
  fileFor(pathId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(pathId))
      throw new Error(`[tunnelmux] [testkit] bad path id for a fault file: ${JSON.stringify(pathId)}`);
    return path.join(this.dir, `${pathId}.json`);
  }

  /** Replace the faults of `pathId`; a running forwarder picks them up within ~50 ms. */
  set(pathId: string, faults: Faults): void {
    writeFaults(this.fileFor(pathId), faults);
  }

  /** Back to normal. */
  clear(pathId: string): void {
    this.set(pathId, {});
  }

  /** Remove the folder. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
