import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createManager, type FrontDoor, type Manager } from '@tunnelmux/core';
import sshProvider from '@tunnelmux/provider-ssh';
import { type Sshd, sshLogin, startSshd } from '@tunnelmux/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bothPathsUp, jumpOptions, pathStatus, waitFor } from './support';

const _run = promisify(execFile);

// The target is itself an sshd: a real `ssh` client logs in through the front door while paths die under it.
describe('ssh: a real ssh client through tunnelmux', () => {
  let destination: Sshd;
  let jumpA: Sshd;
  let jumpB: Sshd;
  let manager: Manager;
  let door: FrontDoor;
  let knownHosts: string;

  beforeAll(async () => {
    [destination, jumpA, jumpB] = await Promise.all([startSshd(), startSshd(), startSshd()]);
    manager = createManager({
      providers: [sshProvider],
      target: { host: '127.0.0.1', port: destination.port },
      protocol: 'ssh',
      metricsInterval: 0,
      failover: {
        interval: 300,
        timeout: 1500,
        maxLatency: 1500,
        fall: 2,
        rise: 2,
        minDwell: 2000,
        backoffInitial: 200,
        backoffMax: 1000,
      },
    });
    const started = await manager.startMultiple([
      { id: 'a', provider: 'ssh', priority: 1, options: jumpOptions(jumpA) },
      { id: 'b', provider: 'ssh', priority: 2, options: jumpOptions(jumpB) },
    ]);
    expect(started.map((result) => result.ok)).toEqual([true, true]);
    door = await manager.listen({ host: '127.0.0.1', port: 0 });
    // The client knows the destination's host key under the front door's address.
    knownHosts = path.join(destination.dir, 'front_door_known_hosts');
    await writeFile(knownHosts, destination.knownHostsLine('127.0.0.1', door.address.port) + '\n');
  }, 60_000);

  afterAll(async () => {
    await door?.close();
    await manager?.shutdown();
    await Promise.all([destination?.close(), jumpA?.close(), jumpB?.close()]);
  }, 60_000);

  function login(): Promise<{ stdout: string; stderr: string }> {
    return sshLogin(destination, 'echo through-tunnelmux', {
      port: door.address.port,
      knownHostsFile: knownHosts,
    });
  }

  it('`ssh -p <front door> 127.0.0.1` logs in while the primary path is being killed', {
    timeout: 90_000,
  }, async () => {
    await bothPathsUp(manager);
    expect((await login()).stdout.trim()).toBe('through-tunnelmux');

    // Kill a's ssh and start two logins at that instant: the front door must carry them through b.
    const killed = pathStatus(manager, 'a').pid!;
    process.kill(killed, 'SIGKILL');
    const during = await Promise.all([login(), login()]);
    for (const result of during) expect(result.stdout.trim()).toBe('through-tunnelmux');
    await waitFor(
      'a reopened',
      () => pathStatus(manager, 'a').pid !== killed && pathStatus(manager, 'a').state === 'connected',
      40_000,
    );

    // Once a is back, logins keep working.
    expect((await login()).stdout.trim()).toBe('through-tunnelmux');
  });
});
