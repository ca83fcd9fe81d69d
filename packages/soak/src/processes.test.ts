import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startJson } from './processes';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A process that says it is ready, then takes `stopMs` to stop on SIGTERM (as up does while it drains). */
function slowStopper(stopMs: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'soak-proc-'));
  dirs.push(dir);
  const file = path.join(dir, 'slow-stop.mjs');
  writeFileSync(
    file,
    `process.on('SIGTERM', () => setTimeout(() => process.exit(0), ${stopMs}));
setInterval(() => undefined, 1000);
console.log(JSON.stringify({ type: 'ready' }));
`,
  );
  return file;
}

describe('startJson', () => {
  it("stop() waits its own grace: a stop longer than execa's default 5 s is not SIGKILLed", async () => {
    // up drains a live connection for up to 5 s and then stops its paths: more than 5 s in all.
    const proc = startJson(slowStopper(5500), [], { cwd: tmpdir(), env: process.env });
    await proc.waitFor((line) => line.type === 'ready', 10_000, 'the ready line');
    expect(await proc.stop(20_000)).toEqual({ code: 0, signal: undefined, killed: false });
  });

  it('stop() SIGKILLs a process still running after its grace', async () => {
    const proc = startJson(slowStopper(60_000), [], { cwd: tmpdir(), env: process.env });
    await proc.waitFor((line) => line.type === 'ready', 10_000, 'the ready line');
    expect(await proc.stop(200)).toMatchObject({ signal: 'SIGKILL', killed: true });
  });
});
