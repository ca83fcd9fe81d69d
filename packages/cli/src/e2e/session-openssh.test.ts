import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type ClientSessionEvent, readSessionKeyFile, resumableSession } from '@tunnelmux/core/session';
import { type Sshd, startSshd } from '@tunnelmux/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type Running, startUp, testdir } from './harness';

// A stand-in path: a TCP forwarder whose connections can be reset (the tunnel process died) or silenced
// (a black hole: nothing passes, nothing closes).
async function path_(name: string, to: number) {
  const live = new Set<[net.Socket, net.Socket]>();
  let silent = false;
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port: to });
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    live.add(pair);
    const close = () => {
      live.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    for (const s of pair) s.on('error', close).on('close', close);
    inbound.on('data', (chunk: Buffer) => silent || outbound.write(chunk));
    outbound.on('data', (chunk: Buffer) => silent || inbound.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return {
    name,
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return live.size;
    },
    reset() {
      for (const [a, b] of live) {
        a.resetAndDestroy();
        b.destroy();
      }
      live.clear();
    },
    silence(on: boolean) {
      silent = on;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

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

// Real OpenSSH client and server, the real `tunnelmux relay`; the paths are stand-in forwarders and the near
// side is resumableSession() in a small door (the front door's `resume:` wiring does not exist yet).
describe('OpenSSH sessions survive their path', () => {
  let destination: Sshd;
  let relay: Running;
  let paths: Awaited<ReturnType<typeof path_>>[];
  let door: net.Server;
  let doorPort: number;
  let knownHosts: string;
  const events: ClientSessionEvent[] = [];
  const t = testdir();

  beforeAll(async () => {
    destination = await startSshd();
    expect((await cli(['keygen', 'session.key'], { cwd: t.dir, env: t.env })).exitCode).toBe(0);
    const key = await readSessionKeyFile(path.join(t.dir, 'session.key'));
    relay = await startUp(
      t.dir,
      t.env,
      ['--listen', '127.0.0.1:0', '--key-file', 'session.key'],
      ['relay', `127.0.0.1:${destination.port}`],
    );
    const relayPort = Number(String(relay.ready.listen).split(':')[1]);
    paths = [await path_('a', relayPort), await path_('b', relayPort)];
    door = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      resumableSession(client, {
        key,
        heartbeatMs: 300,
        deadAfterMs: 1200,
        onEvent: (event) => events.push(event),
        dial: async ({ avoid }) => {
          const order = [...paths.filter((p) => p.name !== avoid), ...paths.filter((p) => p.name === avoid)];
          const p = order[0] as (typeof paths)[number];
          const socket = await new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect({ host: '127.0.0.1', port: p.port, noDelay: true });
            s.once('connect', () => resolve(s)).once('error', reject);
          });
          return { socket, path: p.name };
        },
      });
    });
    await new Promise<void>((resolve) => door.listen({ host: '127.0.0.1', port: 0 }, resolve));
    doorPort = (door.address() as net.AddressInfo).port;
    knownHosts = path.join(t.dir, 'known_hosts');
    writeFileSync(knownHosts, `${destination.knownHostsLine('127.0.0.1', doorPort)}\n`);
  }, 60_000);

  afterAll(async () => {
    door?.close();
    for (const p of paths ?? []) await p.close();
    relay?.process.kill('SIGTERM');
    await relay?.process;
    await destination?.close();
    t.cleanup();
  }, 60_000);

  it('a ticker and a 50 MB sha256-checked stream end with status 0 and intact output across three path deaths and a black hole', async () => {
    const ticks = 90;
    const ticker = runSsh(
      destination,
      doorPort,
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
      doorPort,
      knownHosts,
      // 50 MiB paced over about 5 s, so it is in flight while the paths die; hashed on both ends.
      'f=$(mktemp); (for i in $(seq 1 50); do head -c 1048576 /dev/urandom; sleep 0.1; done) | tee "$f"; sha256sum "$f" >&2; rm -f "$f"',
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

    // Wait until both sessions run, then kill the carrying path three times in a row, then black-hole one.
    await expect.poll(() => arrivals.length, { timeout: 20_000 }).toBeGreaterThan(5);
    const faults: number[] = [];
    for (let i = 0; i < 3; i++) {
      const resumed = events.filter((e) => e.type === 'session-resumed').length;
      const carrying = paths.find((p) => p.connections > 0) ?? (paths[0] as (typeof paths)[number]);
      faults.push(Date.now());
      carrying.reset();
      await expect
        .poll(() => events.filter((e) => e.type === 'session-resumed').length, { timeout: 10_000 })
        .toBeGreaterThan(resumed);
      await expect.poll(() => arrivals.length, { timeout: 5_000 }).toBeGreaterThan(arrivals.length + 2);
    }
    const resumedBefore = events.filter((e) => e.type === 'session-resumed').length;
    const hole = paths.find((p) => p.connections > 0) ?? (paths[0] as (typeof paths)[number]);
    const holeAt = Date.now();
    hole.silence(true);
    await expect
      .poll(() => events.filter((e) => e.type === 'session-resumed').length, { timeout: 10_000 })
      .toBeGreaterThan(resumedBefore);
    hole.silence(false);

    expect(await ticker.exit).toBe(0);
    expect(await bulk.exit).toBe(0);
    expect(arrivals.map((a) => a.line)).toEqual(Array.from({ length: ticks }, (_, i) => `tick ${i + 1}`));
    expect(received).toBe(52_428_800);
    expect(bulkErr.split(/\s+/)[0]).toBe(hash.digest('hex'));

    // Both sessions resumed; the bulk one was in flight (it finished after the last kill).
    expect(new Set(events.filter((e) => e.type === 'session-resumed').map((e) => e.session)).size).toBe(2);

    // The longest silence of the ticker between one fault and the next.
    const bounds = [...faults, holeAt, Number.POSITIVE_INFINITY];
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
    const killGaps = faults.map((_, i) => gapAfter(i));
    const holeGap = gapAfter(faults.length);
    console.log(`ticker gaps after kills: ${killGaps.join(', ')} ms; after the black hole: ${holeGap} ms`);
    for (const gap of killGaps) expect(gap).toBeLessThan(1500);
    // Dead after 1200 ms of silence (heartbeats), then the resume: under dead-after + 1.5 s.
    expect(holeGap).toBeLessThan(1200 + 1500);
  }, 120_000);
});
