import type { Duplex } from 'node:stream';
import { createManager, type TunnelmuxEvent } from '@tunnelmux/core';
import { type BannerServer, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import { Forwarder, writeFaults } from '@tunnelmux/testkit';
import {
  defaultTailscaleState,
  type FakeTailscaleState,
  updateTailscalePeer,
} from '@tunnelmux/testkit/fakes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import tailscale from './index';
import {
  captureHelpers,
  type FakeTailnet,
  fakeTailnet,
  type Opened,
  openError,
  openTailscale,
  waitGone,
} from './test-support';

let target: BannerServer;
const worlds: FakeTailnet[] = [];
const opened: Opened[] = [];

beforeAll(async () => {
  target = await startBannerServer();
});

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
  for (const w of worlds.splice(0)) w.cleanup();
});

afterAll(async () => {
  await target.close();
});

function world(state: FakeTailscaleState = defaultTailscaleState()): FakeTailnet {
  const w = fakeTailnet(state);
  worlds.push(w);
  return w;
}

async function open(options: Record<string, unknown>, w: FakeTailnet): Promise<Opened> {
  const o = await openTailscale(options, w.env, target);
  opened.push(o);
  return o;
}

/** Read until `text` arrived (or reject after `ms`); returns everything read. */
function readUntil(stream: Duplex, text: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(
      () => finish(new Error(`no ${JSON.stringify(text)} within ${ms} ms; got ${JSON.stringify(got)}`)),
      ms,
    );
    const onData = (chunk: Buffer) => {
      got += chunk.toString('latin1');
      if (got.includes(text)) finish();
    };
    const onEnd = () =>
      finish(new Error(`stream ended before ${JSON.stringify(text)}; got ${JSON.stringify(got)}`));
    const finish = (error?: Error) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', finish);
      if (error) reject(error);
      else resolve(got);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', finish);
  });
}

/** An SSH-like exchange: banner first, then our bytes echoed back. */
async function sshLike(stream: Duplex): Promise<void> {
  expect(await readUntil(stream, '\r\n')).toBe(target.banner);
  stream.write('SSH-2.0-client\r\n');
  expect(await readUntil(stream, 'SSH-2.0-client\r\n')).toBe('SSH-2.0-client\r\n');
}

function ncPids(w: FakeTailnet): number[] {
  return w
    .calls()
    .filter((call) => call.argv.includes('nc'))
    .map((call) => call.pid);
}

describe('direct dial (TUN node)', () => {
  it('carries SSH-like traffic to the peer IP, and a black-holed peer gives no banner', async () => {
    const forwarder = new Forwarder({ listen: { host: '127.0.0.1', port: 0 }, target });
    const { port } = await forwarder.start();
    try {
      const w = world(
        defaultTailscaleState({ Peers: [{ HostName: 'devbox', TailscaleIPs: ['127.0.0.1'] }] }),
      );
      const { tunnel } = await open({ host: 'devbox.tail1234.ts.net', port }, w);
      expect(tunnel.pid).toBeUndefined();
      expect(tunnel.endpoint).toBe(`devbox 127.0.0.1:${port}`);
      const stream = await tunnel.dial(AbortSignal.timeout(5000));
      await sshLike(stream);
      stream.destroy();
      // The forwarder accepts and then says nothing, like a peer whose WireGuard path died.
      forwarder.setFaults({ mode: 'blackhole' });
      const silent = await tunnel.dial(AbortSignal.timeout(5000));
      await expect(readUntil(silent, 'SSH-', 300)).rejects.toThrow(/within 300 ms/);
      silent.destroy();
    } finally {
      await forwarder.close();
    }
  });

  it('names the peer and address when the dial is refused', async () => {
    const w = world(defaultTailscaleState({ Peers: [{ HostName: 'devbox', TailscaleIPs: ['127.0.0.1'] }] }));
    const { tunnel } = await open({ host: 'devbox', port: 1, dial: 'direct' }, w);
    await expect(tunnel.dial(AbortSignal.timeout(5000))).rejects.toThrow(
      /^\[tunnelmux\] \[tailscale\] connect to devbox 127\.0\.0\.1:1 failed: .*ECONNREFUSED/,
    );
  });
});

describe('tailscale nc (userspace networking)', () => {
  it('auto picks nc when TUN is false and carries SSH-like traffic through a port map', async () => {
    const state = defaultTailscaleState({ TUN: false });
    state.Peers[0]!.ports = { '22': target.port };
    const w = world(state);
    const { tunnel, logs } = await open({ host: 'devbox', port: 22 }, w);
    expect(tunnel.endpoint).toBe('tailscale nc devbox 22');
    const stream = await tunnel.dial(AbortSignal.timeout(5000));
    await sshLike(stream);
    stream.destroy();
    expect(w.calls().find((call) => call.argv.includes('nc'))?.argv).toEqual(['nc', '100.64.0.2', '22']);
    expect(logs.join('\n')).toContain('peer devbox (100.64.0.2) is online');
  });

  it('dial: "nc" forces nc on a TUN node', async () => {
    const w = world();
    const { tunnel } = await open({ host: 'devbox', dial: 'nc' }, w);
    await sshLike(await tunnel.dial());
  });

  it('kills each nc child when its stream is destroyed, and the rest when the path closes', async () => {
    const w = world(defaultTailscaleState({ TUN: false }));
    const o = await open({ host: 'devbox' }, w);
    const streams = [await o.tunnel.dial(), await o.tunnel.dial(), await o.tunnel.dial()];
    for (const stream of streams) await readUntil(stream, '\r\n');
    // Each stream knows its child; the fake's own log confirms those are the nc processes.
    const pids = streams.map((stream) => (stream as Duplex & { pid?: number }).pid!);
    expect([...pids].sort()).toEqual([...ncPids(w)].sort());
    streams[0]!.destroy();
    expect(await waitGone(pids[0]!), `nc ${pids[0]} outlived its stream`).toBe(true);
    expect(await isAlive(pids[1]!), 'destroying one stream killed another').toBe(true);
    await o.close();
    for (const pid of pids.slice(1)) expect(await waitGone(pid), `nc ${pid} outlived the path`).toBe(true);
    expect(streams[1]!.destroyed).toBe(true);
  });

  it('ends the stream when the far side closes, and the child exits by itself', async () => {
    const w = world(defaultTailscaleState({ TUN: false }));
    const { tunnel } = await open({ host: 'devbox' }, w);
    const stream = await tunnel.dial();
    await readUntil(stream, '\r\n');
    const [pid] = ncPids(w);
    // Ending our side makes the real nc exit (it stops when either copy finishes); the stream then ends.
    const ended = new Promise((resolve) => stream.once('end', resolve));
    stream.end();
    await ended;
    expect(await waitGone(pid!)).toBe(true);
  });

  it('turns a failed nc dial into a stream error with tailscale’s words, and reports it', async () => {
    const w = world(defaultTailscaleState({ TUN: false }));
    const o = await open({ host: 'devbox', port: 1 }, w);
    const stream = await o.tunnel.dial();
    const error = await new Promise<Error>((resolve) => stream.once('error', resolve));
    expect(error.message).toMatch(
      /^\[tunnelmux\] \[tailscale\] `tailscale nc 100\.64\.0\.2 1` failed: Dial\("100\.64\.0\.2", 1\): /,
    );
    expect(o.dialFailures).toHaveLength(1);
  });

  it('honours fault injection: a hung nc says nothing and dies with its stream; a crash breaks the stream', async () => {
    const w = world(defaultTailscaleState({ TUN: false }));
    const { tunnel } = await open({ host: 'devbox' }, w);
    writeFaults(w.faultsFile, { startup: 'hang' });
    const hung = await tunnel.dial();
    await expect(readUntil(hung, 'SSH-', 300)).rejects.toThrow(/within 300 ms/);
    hung.destroy();
    expect(await waitGone(ncPids(w)[0]!)).toBe(true);

    writeFaults(w.faultsFile, {});
    const live = await tunnel.dial();
    await readUntil(live, '\r\n');
    const broken = new Promise<Error>((resolve) => live.once('error', resolve));
    writeFaults(w.faultsFile, { mode: 'crash' });
    expect((await broken).message).toContain('broke');
  });

  it('passes --socket=PATH before every subcommand', async () => {
    const socket = '/tmp/tunnelmux-test/tailscaled.sock';
    const w = world(defaultTailscaleState({ TUN: false, daemon: { socket } }));
    const error = await openError({ host: 'devbox' }, w.env, target);
    expect(error.message).toContain('tailscaled is not running at its default socket');
    expect(error.message).toContain('option "socket"');
    expect(error.fatal).toBe(false);

    const { tunnel } = await open({ host: 'devbox', socket }, w);
    await sshLike(await tunnel.dial());
    const calls = w.calls().slice(1);
    expect(calls.map((call) => call.argv.slice(0, 2))).toEqual([
      [`--socket=${socket}`, 'status'],
      [`--socket=${socket}`, 'nc'],
    ]);
  });
});

describe('when the tailnet is not usable', () => {
  it.each([
    ['Stopped', {}, 'Tailscale is stopped — run `tailscale up`'],
    [
      'NeedsLogin',
      { AuthURL: 'https://login.tailscale.com/a/1b2c3d' },
      'Tailscale is logged out — log in at https://login.tailscale.com/a/1b2c3d',
    ],
    ['NeedsMachineAuth', {}, 'this machine is waiting for approval by the tailnet admin'],
  ] as const)('%s is fatal with a clear message', async (backend, extra, message) => {
    const w = world(defaultTailscaleState({ BackendState: backend, ...extra }));
    const error = await openError({ host: 'devbox' }, w.env, target);
    expect(error.message).toContain(`[tunnelmux] [tailscale] ${message}`);
    expect(error.fatal).toBe(true);
  });

  it('an unknown peer is fatal and lists the known peers', async () => {
    const error = await openError({ host: 'nosuch' }, world().env, target);
    expect(error.message).toBe(
      '[tunnelmux] [tailscale] no peer named nosuch in this tailnet; known peers: devbox, server — fix option "host"',
    );
    expect(error.fatal).toBe(true);
  });

  it('an offline peer is transient', async () => {
    const state = defaultTailscaleState();
    state.Peers[0]!.Online = false;
    const error = await openError({ host: 'devbox' }, world(state).env, target);
    expect(error.message).toMatch(/peer devbox is offline \(last seen .*\); waiting for it to come back/);
    expect(error.fatal).toBe(false);
  });

  it('a missing daemon is transient and says how to fix it', async () => {
    const error = await openError(
      { host: 'devbox' },
      world(defaultTailscaleState({ daemon: { running: false } })).env,
      target,
    );
    expect(error.message).toContain('tailscaled is not running');
    expect(error.message).toContain('Failed to connect to local Tailscale daemon');
    expect(error.fatal).toBe(false);
  });

  it('a missing binary is fatal with the install link', async () => {
    const env = { ...world().env, PATH: '/nonexistent' };
    const error = await openError({ host: 'devbox' }, env, target);
    expect(error.message).toBe(
      '[tunnelmux] [tailscale] tailscale was not found on PATH: install it from https://tailscale.com/download, or set option "bin" to its path',
    );
    expect(error.fatal).toBe(true);
    const withBin = await openError({ host: 'devbox', bin: '/nonexistent/tailscale' }, env, target);
    expect(withBin.message).toContain('was not found at "/nonexistent/tailscale" (option "bin")');
    const detected = await tailscale.detect({
      ...(await captureHelpers(env)),
      signal: AbortSignal.timeout(5000),
    });
    expect(detected).toMatchObject({ available: false, install: 'https://tailscale.com/download' });
  });

  it('the manager reports a fatal error once and does not retry it', async () => {
    const w = world(
      defaultTailscaleState({ BackendState: 'NeedsLogin', AuthURL: 'https://login.tailscale.com/a/zz' }),
    );
    await using manager = createManager({
      providers: [tailscale],
      env: w.env,
      target: target,
      metricsInterval: 0,
    });
    const events: TunnelmuxEvent[] = [];
    manager.events.on((event) => events.push(event));
    const status = await manager.start({ id: 'ts', provider: 'tailscale', options: { host: 'devbox' } });
    expect(status.state).toBe('failed');
    expect(status.lastError).toContain(
      'Tailscale is logged out — log in at https://login.tailscale.com/a/zz',
    );
    expect(events.filter((event) => event.type === 'error')).toHaveLength(1);
    expect(events.some((event) => event.type === 'reconnecting')).toBe(false);
    expect(w.calls().filter((call) => call.argv.includes('status'))).toHaveLength(1);
  });
});

describe('under the manager', () => {
  /** Poll the path state (bounded) until it is `state`. */
  async function waitForState(read: () => string, state: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (read() !== state) {
      if (Date.now() > deadline) throw new Error(`path stayed ${read()}, never ${state}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('an offline peer is retried, comes up when it is back, and goes down when it leaves again', async () => {
    const state = defaultTailscaleState({ TUN: false });
    state.Peers[0]!.Online = false;
    const w = world(state);
    await using manager = createManager({
      providers: [tailscale],
      env: w.env,
      target,
      protocol: 'ssh',
      metricsInterval: 0,
      // fall: 100 so failed probes cannot take the path down before the status poll does.
      failover: { interval: 200, backoffInitial: 50, backoffMax: 200, rise: 1, fall: 100 },
    });
    const first = await manager.start({
      id: 'ts',
      provider: 'tailscale',
      options: { host: 'devbox', pollInterval: 100 },
    });
    expect(first.state).toBe('reconnecting');
    expect(first.lastError).toContain('peer devbox is offline');
    updateTailscalePeer(w.stateFile, 'devbox', { Online: true });
    await waitForState(() => manager.status('ts').state, 'connected');
    // The status poll, not failed probes, takes it down: lastError is the poll's reason.
    updateTailscalePeer(w.stateFile, 'devbox', { Online: false });
    await waitForState(() => manager.status('ts').state, 'reconnecting');
    expect(manager.status('ts').lastError).toContain('peer devbox went offline');
  });
});

describe('detect', () => {
  it('reads the first line of `tailscale version`', async () => {
    const w = world(defaultTailscaleState({ version: '1.90.4' }));
    const detected = await tailscale.detect({
      ...(await captureHelpers(w.env)),
      signal: AbortSignal.timeout(10_000),
    });
    expect(detected).toMatchObject({ available: true, version: '1.90.4' });
  });
});

describe('check (tailscale ping hint)', () => {
  it('reports a direct path, a DERP path and a timeout', async () => {
    const state = defaultTailscaleState();
    state.Peers.push({ HostName: 'quiet', TailscaleIPs: ['100.64.0.4'], pingTimeout: true });
    const w = world(state);
    const direct = await open({ host: 'devbox' }, w);
    expect(await direct.tunnel.check!(AbortSignal.timeout(10_000))).toEqual({
      ok: true,
      latencyMs: 3,
      detail: 'pong from devbox direct via 198.51.100.7:41641 in 3 ms',
    });
    const ping = w.calls().find((call) => call.argv.includes('ping'));
    expect(ping?.argv).toEqual(['ping', '--c', '1', '--timeout', '2s', '--until-direct=false', '100.64.0.2']);

    const relayed = await open({ host: 'server' }, w);
    expect(await relayed.tunnel.check!(AbortSignal.timeout(10_000))).toMatchObject({
      ok: true,
      latencyMs: 39,
      detail: 'pong from server relayed via DERP(fra) in 39 ms',
    });

    const quiet = await open({ host: 'quiet' }, w);
    expect(await quiet.tunnel.check!(AbortSignal.timeout(10_000))).toEqual({
      ok: false,
      detail: 'ping "100.64.0.4" timed out (no reply)',
    });
  });
});

describe('done (status poll)', () => {
  it('settles when the peer goes offline', async () => {
    const w = world();
    const { tunnel } = await open({ host: 'devbox', pollInterval: 100 }, w);
    updateTailscalePeer(w.stateFile, 'devbox', { Online: false });
    // Not process-shaped: no invented exit code or signal for a path without a process of its own.
    expect(await tunnel.done).toEqual({
      reason: 'peer devbox went offline',
      lastLines: ['peer devbox went offline'],
    });
  });

  it('settles when the backend stops, saying how to fix it', async () => {
    const w = world();
    const { tunnel } = await open({ host: 'devbox', pollInterval: 100 }, w);
    w.write(defaultTailscaleState({ BackendState: 'Stopped' }));
    const info = await tunnel.done;
    expect(info.reason).toBe('Tailscale is stopped — run `tailscale up`');
    expect(info.lastLines).toEqual([info.reason]);
  });

  it('settles when the peer leaves the tailnet', async () => {
    const w = world();
    const { tunnel } = await open({ host: 'devbox', pollInterval: 100 }, w);
    w.write(defaultTailscaleState({ Peers: [] }));
    expect((await tunnel.done).reason).toBe(
      'peer devbox (100.64.0.2) left the tailnet: it is no longer in `tailscale status`',
    );
  });

  it('settles with reason "closed" on close, and stops polling', async () => {
    const w = world();
    const o = await open({ host: 'devbox', pollInterval: 100 }, w);
    await o.close();
    expect((await o.tunnel.done).reason).toBe('closed');
    const polls = w.calls().length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(w.calls().length).toBe(polls);
    await expect(o.tunnel.dial()).rejects.toThrow(/closed/);
  });
});
