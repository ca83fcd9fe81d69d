import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createManager, type FrontDoor, type Manager, type TunnelmuxEvent } from '@tunnelmux/core';
import { createRelay, generateSessionKey, type Relay } from '@tunnelmux/core/session';
import sshProvider from '@tunnelmux/provider-ssh';
import { type Sshd, startSshd } from '@tunnelmux/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jumpOptions, pathStatus, waitFor } from './support';

const HEARTBEAT_MS = 300;
const DEAD_AFTER_MS = 1200;

/** A real OpenSSH client running `command` on `destination` through the front door at `port`. */
function runSsh(destination: Sshd, port: number, knownHosts: string, command: string) {
  const child = spawn(
    'ssh',
    [
      '-F',
      'none',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-i',
      destination.clientKey.privateKey,
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-p',
      String(port),
      `${destination.user}@127.0.0.1`,
      command,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, exit };
}

// The story, through the real front door: a real target sshd behind the relay, two `ssh -L` paths through
// two real jump-host sshds, a manager with `resume` on, and two real `ssh` sessions that must never notice.
describe('ssh with resume: sessions survive the death of their path', () => {
  let destination: Sshd;
  let jumpA: Sshd;
  let jumpB: Sshd;
  let relay: Relay;
  let manager: Manager;
  let door: FrontDoor;
  let knownHosts: string;
  let dir: string;
  const events: TunnelmuxEvent[] = [];

  beforeAll(async () => {
    [destination, jumpA, jumpB] = await Promise.all([startSshd(), startSshd(), startSshd()]);
    const key = generateSessionKey();
    relay = await createRelay({
      target: { host: '127.0.0.1', port: destination.port },
      listen: { host: '127.0.0.1', port: 0 },
      key,
      heartbeatMs: HEARTBEAT_MS,
      deadAfterMs: DEAD_AFTER_MS,
    });
    manager = createManager({
      providers: [sshProvider],
      target: relay.address,
      protocol: 'ssh',
      metricsInterval: 0,
      failover: {
        interval: 300,
        timeout: 1500,
        maxLatency: 1500,
        fall: 2,
        rise: 2,
        minDwell: 1000,
        backoffInitial: 200,
        backoffMax: 1000,
      },
      resume: { key, heartbeatMs: HEARTBEAT_MS, deadAfterMs: DEAD_AFTER_MS },
    });
    manager.events.on((event) => events.push(event));
    const started = await manager.startMultiple([
      { id: 'a', provider: 'ssh', priority: 1, options: jumpOptions(jumpA) },
      { id: 'b', provider: 'ssh', priority: 2, options: jumpOptions(jumpB) },
    ]);
    expect(started.map((result) => result.ok)).toEqual([true, true]);
    door = await manager.listen({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-resume-ssh-'));
    knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${destination.knownHostsLine('127.0.0.1', door.address.port)}\n`);
  }, 60_000);

  afterAll(async () => {
    await jumpA?.thaw();
    await jumpB?.thaw();
    await door?.close();
    await manager?.shutdown();
    await relay?.close();
    await Promise.all([destination?.close(), jumpA?.close(), jumpB?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a ticker and a 50 MiB sha256-checked stream end with status 0 and intact output across a SIGKILL, three failovers in a row and an 8 s black hole', {
    timeout: 180_000,
  }, async () => {
    const resumes = () => events.filter((e) => e.type === 'session-resumed').length;
    const jumpOf = (id: string) => (id === 'a' ? jumpA : jumpB);
    const carrying = () => manager.status().sessions?.find((s) => s.attached)?.path;
    const bothUp = () =>
      waitFor(
        'both paths up',
        () =>
          pathStatus(manager, 'a').state === 'connected' && pathStatus(manager, 'b').state === 'connected',
        40_000,
      );
    await bothUp();

    const ticks = 300;
    const ticker = runSsh(
      destination,
      door.address.port,
      knownHosts,
      `for i in $(seq 1 ${ticks}); do echo tick $i; sleep 0.1; done`,
    );
    const arrivals: { line: string; at: number }[] = [];
    let rest = '';
    ticker.child.stdout.on('data', (chunk: Buffer) => {
      rest += chunk.toString();
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) arrivals.push({ line, at: Date.now() });
    });
    const bulk = runSsh(
      destination,
      door.address.port,
      knownHosts,
      // 50 MiB paced over about 20 s, so it is in flight while the paths die; hashed on both ends.
      'f=$(mktemp); (for i in $(seq 1 50); do head -c 1048576 /dev/urandom; sleep 0.4; done) | tee "$f"; sha256sum "$f" >&2; rm -f "$f"',
    );
    const hash = createHash('sha256');
    let received = 0;
    let bulkErr = '';
    bulk.child.stdout.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
    });
    bulk.child.stderr.on('data', (chunk: Buffer) => {
      bulkErr += chunk.toString();
    });
    await waitFor('both sessions running', () => arrivals.length > 5 && received > 0, 30_000);
    await waitFor('two live sessions', () => manager.status().sessions?.length === 2, 10_000);

    // 1. SIGKILL of the carrying path's ssh process, then twice more in a row: three failovers, each waiting only
    // until the other path is back up.
    const kills: number[] = [];
    for (let i = 0; i < 3; i++) {
      await bothUp();
      const before = resumes();
      const from = carrying() as string;
      expect(from).toBeDefined();
      kills.push(Date.now());
      process.kill(pathStatus(manager, from).pid as number, 'SIGKILL');
      await waitFor(`both sessions resumed after kill ${i + 1}`, () => resumes() >= before + 2, 15_000);
      expect(carrying()).not.toBe(from);
      // The manager notices the dead process in its own time; the next kill waits for it to be back up.
      await waitFor(`${from} noticed down`, () => pathStatus(manager, from).state !== 'connected', 15_000);
    }

    // 2. The carrying jump host's sshd sessions are SIGSTOPped for 8 s: a black hole noticed by heartbeats.
    await bothUp();
    const before = resumes();
    const holed = carrying() as string;
    const holeAt = Date.now();
    await jumpOf(holed).freeze();
    await waitFor('both sessions resumed after the black hole', () => resumes() >= before + 2, 15_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, holeAt + 8000 - Date.now())));
    await jumpOf(holed).thaw();

    expect(await ticker.exit).toBe(0);
    expect(await bulk.exit).toBe(0);
    expect(arrivals.map((a) => a.line)).toEqual(Array.from({ length: ticks }, (_, i) => `tick ${i + 1}`));
    expect(received).toBe(52_428_800);
    expect(bulkErr.split(/\s+/)[0]).toBe(hash.digest('hex'));
    expect(events.filter((e) => e.type === 'session-lost')).toEqual([]);

    // The longest silence of the ticker after each fault, up to the next.
    const bounds = [...kills, holeAt, Number.POSITIVE_INFINITY];
    const gapAfter = (index: number) => {
      let worst = 0;
      for (let i = 1; i < arrivals.length; i++) {
        const prev = arrivals[i - 1] as { at: number };
        const cur = arrivals[i] as { at: number };
        if (cur.at > (bounds[index] as number) && cur.at <= (bounds[index + 1] as number)) {
          worst = Math.max(worst, cur.at - prev.at);
        }
      }
      return worst;
    };
    const killGaps = kills.map((_, i) => gapAfter(i));
    const holeGap = gapAfter(kills.length);
    console.log(`ticker gaps after SIGKILLs: ${killGaps.join(', ')} ms; after the black hole: ${holeGap} ms`);
    for (const gap of killGaps) expect(gap).toBeLessThan(1500);
    expect(holeGap).toBeLessThan(DEAD_AFTER_MS + 1500);
  });
});
