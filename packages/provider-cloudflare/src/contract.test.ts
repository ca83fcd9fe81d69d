import { randomUUID } from 'node:crypto';
import { testProviderContract } from '@tunnelmux/core/testing';
import { cloudflaredFakeEnv, fakeEnv } from '@tunnelmux/testkit/fakes';
import cloudflare from './index';

// A service token the fake's Access app demands: the canary secret must never reach argv or logs.
const canary = `canary-secret-${randomUUID()}`;
const tokenId = `${randomUUID().slice(0, 8)}.access`;

testProviderContract({
  provider: cloudflare,
  options: () => ({ hostname: 'ssh.example.com', serviceTokenId: tokenId, serviceTokenSecret: canary }),
  env: (target) =>
    fakeEnv(
      cloudflaredFakeEnv({
        routes: { 'ssh.example.com': target },
        serviceToken: { id: tokenId, secret: canary },
      }),
    ),
  badOptions: [
    {},
    { hostname: 'https://ssh.example.com' },
    { hostname: 'ssh.example.com:22' },
    { hostname: 'ssh.example.com', serviceTokenId: 'id-only' },
    { hostname: 'ssh.example.com', port: 0 },
    { hostname: 'ssh.example.com', tunnelToken: 'x' },
  ],
  canary,
});
