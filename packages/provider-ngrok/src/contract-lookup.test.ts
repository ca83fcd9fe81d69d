// The provider contract for the API-lookup form, with a canary API key that must never surface.
import path from 'node:path';
import { validateOptions } from '@tunnelmux/core';
import { testProviderContract } from '@tunnelmux/core/testing';
import {
  type FakeNgrokAgent,
  type FakeNgrokApi,
  fakeBinDir,
  startFakeNgrokAgent,
  startFakeNgrokApi,
} from '@tunnelmux/testkit/fakes';
import provider from './index';

const CANARY = `canary_${Math.random().toString(36).slice(2)}_ngrokapikey`;
let api: FakeNgrokApi | undefined;
let agent: FakeNgrokAgent | undefined;
let targetPort = 0;

async function farAgent(): Promise<void> {
  agent = await startFakeNgrokAgent({ port: targetPort, metadata: 'contract' });
  api!.setEndpoints([{ port: agent.publicPort, metadata: 'contract' }]);
}

testProviderContract({
  provider,
  canary: CANARY,
  setup: async () => {
    api = await startFakeNgrokApi({ apiKey: CANARY });
  },
  env: async (target) => {
    targetPort = target.port;
    await farAgent();
    return { PATH: `${fakeBinDir()}${path.delimiter}${process.env.PATH ?? ''}`, NGROK_API_KEY: CANARY };
  },
  // The suite types options as parsed output; validating here turns our input into that.
  options: () =>
    validateOptions(provider, {
      metadata: 'contract',
      apiUrl: api!.url,
      resolveInterval: 0,
      refreshInterval: 0,
    }),
  badOptions: [
    { metadata: 'contract', apiUrl: 'http://api.example.com' },
    { metadata: '' },
    { url: 'tcp://host' },
  ],
  // No local process: the path dies when the far agent stops and the API stops listing its endpoint. The
  // next dial (a probe, in the manager) finds that out, so crash() stops the agent, updates the API and dials.
  crash: async (tunnel) => {
    await agent!.kill();
    api!.setEndpoints([]);
    await tunnel.dial(AbortSignal.timeout(5000)).then(
      (socket) => socket.destroy(),
      () => undefined,
    );
    await farAgent();
  },
  teardown: async () => {
    await agent?.stop();
    await api?.close();
  },
});
