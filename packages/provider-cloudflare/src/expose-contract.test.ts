import { randomUUID } from 'node:crypto';
import { testProviderContract } from '@tunnelmux/core/testing';
import { cloudflaredFakeEnv, fakeEnv, makeTunnelToken } from '@tunnelmux/testkit/fakes';
import cloudflare from './index';
import { freeLoopbackPort } from './test-support';

// The whole token is the canary: it must reach cloudflared as TUNNEL_TOKEN only, never argv or logs.
const token = makeTunnelToken({ s: `canary-tunnel-secret-${randomUUID()}` });
// The fake edge's public port, fixed so the options can name it before the fake starts.
let edgePort = 0;

testProviderContract({
  provider: cloudflare,
  mode: 'expose',
  setup: async () => {
    edgePort = await freeLoopbackPort();
  },
  // dial() goes through the fake edge's public port to the suite's banner server (the local service).
  options: () => ({ tunnelToken: token, publicAddress: `127.0.0.1:${edgePort}` }),
  env: (target) => fakeEnv(cloudflaredFakeEnv({ routes: {}, ingress: target, edgePort })),
  badOptions: [
    { tunnelToken: '' },
    { tunnelTokenEnv: 'not a name' },
    { tunnelToken: 'x', quickTunnel: true },
    { tunnelToken: 'x', hostname: 'ssh.example.com' },
    { tunnelToken: 'x', publicAddress: '127.0.0.1' },
    { tunnelToken: 'x', publicAddress: '127.0.0.1:70000' },
    { quickTunnel: false },
    { quickTunnel: true, publicHostname: 'ssh.example.com' },
    { publicHostname: 'ssh.example.com' },
    { tunnelToken: 'x', publicHostname: 'https://ssh.example.com' },
  ],
  canary: token,
});
