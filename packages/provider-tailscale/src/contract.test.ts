import type { Target, Tunnel } from '@tunnelmux/core';
import { testProviderContract } from '@tunnelmux/core/testing';
import { Forwarder } from '@tunnelmux/testkit';
import { defaultTailscaleState, updateTailscalePeer } from '@tunnelmux/testkit/fakes';
import { describe } from 'vitest';
import { type FakeTailnet, fakeTailnet } from './harness';
import tailscale from './index';

// There is no tailscale process in access mode, so "dies by itself" means the peer goes offline: the status
// poll (every 100 ms here) must settle `exited`. The peer comes back afterwards for the tests that follow.
function offlineCrash(world: () => FakeTailnet) {
  return async (tunnel: Tunnel) => {
    updateTailscalePeer(world().stateFile, 'devbox', { Online: false });
    await tunnel.exited;
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
    badOptions: [{}, { host: 'devbox', dial: 'udp' }, { host: 'devbox', port: -1 }],
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
