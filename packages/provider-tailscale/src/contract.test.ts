import { spawnSync } from 'node:child_process';
import type { Target, Tunnel } from '@tunnelmux/core';
import { testProviderContract } from '@tunnelmux/core/testing';
import { Forwarder, freePort } from '@tunnelmux/testkit';
import { defaultTailscaleState, stopServeForwarders, updateTailscalePeer } from '@tunnelmux/testkit/fakes';
import { describe } from 'vitest';
import tailscale from './index';
import { type FakeTailnet, fakeTailnet } from './test-support';

// There is no tailscale process in access mode, so "dies by itself" means the peer goes offline: the status
// poll (every 100 ms here) must settle `done`. The peer comes back afterwards for the tests that follow.
function offlineCrash(world: () => FakeTailnet) {
  return async (tunnel: Tunnel) => {
    updateTailscalePeer(world().stateFile, 'devbox', { Online: false });
    await tunnel.done;
    updateTailscalePeer(world().stateFile, 'devbox', { Online: true });
  };
}

// Direct form: a TUN node dials the peer's tailnet IP. The fake peer's IP is 127.0.0.1 and a fault-honouring
// Forwarder stands where its service listens (tests never leave 127.0.0.1).
describe('direct dial', () => {
  let world: FakeTailnet;
  let forwarder: Forwarder | undefined;
  let forwarderPort = 0;
  testProviderContract({
    provider: tailscale,
    setup: () => {
      world = fakeTailnet(
        defaultTailscaleState({
          TUN: true,
          Peers: [{ HostName: 'devbox', TailscaleIPs: ['127.0.0.1'], CurAddr: '198.51.100.7:41641' }],
        }),
      );
    },
    teardown: async () => {
      await forwarder?.close();
      world.cleanup();
    },
    env: () => world.env,
    options: async (target: Target) => {
      if (!forwarder) {
        forwarder = new Forwarder({ listen: { host: '127.0.0.1', port: 0 }, target });
        forwarderPort = (await forwarder.start()).port;
      }
      return { host: 'devbox', port: forwarderPort, pollInterval: 100, dial: 'auto' as const };
    },
    badOptions: [{ host: '' }, { host: 'devbox', dial: 'udp' }, { host: 'devbox', port: -1 }],
    crash: offlineCrash(() => world),
  });
});

// nc form: a userspace-networking node (TUN: false) makes `auto` dial through one `tailscale nc` per connection.
describe('tailscale nc', () => {
  let world: FakeTailnet;
  testProviderContract({
    provider: tailscale,
    setup: () => {
      world = fakeTailnet(defaultTailscaleState({ TUN: false }));
    },
    teardown: () => world.cleanup(),
    env: () => world.env,
    options: () => ({ host: 'devbox', pollInterval: 100, dial: 'auto' as const }),
    badOptions: [
      { host: 'devbox', socket: 42 },
      { host: 'devbox', bin: '' },
    ],
    crash: offlineCrash(() => world),
  });
});

// Expose form: this node's tailnet IP is 127.0.0.1 in the fake world, so the fake serves each TCP handler on
// 127.0.0.1:<publicPort> and `dial()` reaches the suite's banner server through it. "Dies by itself" is someone
// running `tailscale serve reset`: the status poll must notice the handler is gone.
describe('expose (tailscale serve)', () => {
  let world: FakeTailnet;
  testProviderContract({
    provider: tailscale,
    mode: 'expose',
    setup: () => {
      world = fakeTailnet(
        defaultTailscaleState({
          Self: { HostName: 'laptop', TailscaleIPs: ['127.0.0.1', 'fd7a:115c:a1e0::1'] },
        }),
      );
    },
    teardown: async () => {
      // No fake forwarder may outlive the suite.
      await stopServeForwarders(world.stateFile);
      world.cleanup();
    },
    env: () => world.env,
    // A fresh public port per open: the local service already holds its own port on 127.0.0.1.
    options: async () => ({ publicPort: await freePort(), pollInterval: 100 }),
    badOptions: [{ publicPort: 0 }, { health: 'sometimes' }, { publicPort: '2222' }],
    crash: async () => {
      const reset = spawnSync('tailscale', ['serve', 'reset'], { env: world.env, timeout: 20_000 });
      if (reset.status !== 0) throw new Error(`tailscale serve reset failed: ${reset.stderr}`);
    },
  });
});
