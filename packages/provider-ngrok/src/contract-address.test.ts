// The provider contract for the fixed-address form; the far side is the fake `ngrok tcp` agent.
import path from 'node:path';
import { validateOptions } from '@tunnelmux/core';
import { testProviderContract } from '@tunnelmux/core/testing';
import { type FakeNgrokAgent, fakeBinDir, startFakeNgrokAgent } from '@tunnelmux/testkit/fakes';
import provider from './index';

let agent: FakeNgrokAgent | undefined;
let targetPort = 0;

testProviderContract({
  provider,
  // The far agent needs the target's port, which the suite only knows once its banner server runs.
  env: async (target) => {
    targetPort = target.port;
    agent = await startFakeNgrokAgent({ port: target.port });
    return { PATH: `${fakeBinDir()}${path.delimiter}${process.env.PATH ?? ''}` };
  },
  // The suite types options as parsed output; validating here turns our input into that.
  options: () => validateOptions(provider, { address: agent!.publicUrl }),
  badOptions: [
    { address: '0.tcp.ngrok.io' },
    { address: 'tcp://0.tcp.ngrok.io' },
    { address: 'tcp://0.tcp.ngrok.io:12345', metadata: 'ssh' },
    { address: 'tcp://0.tcp.ngrok.io:12345', bin: '/usr/bin/ngrok' },
    { address: 'tcp://0.tcp.ngrok.io:12345', apiKey: 'inline' },
  ],
  // No local process: the path dies when the far agent does. A dead address is learnt on the next dial
  // (the manager probes every interval), so crash() kills the agent and makes that one dial; then it brings
  // the agent back on the same reserved address (`--url`) for the tests that follow.
  crash: async (tunnel) => {
    const url = agent!.publicUrl;
    await agent!.kill();
    await tunnel.dial(AbortSignal.timeout(5000)).then(
      (socket) => socket.destroy(),
      () => undefined,
    );
    agent = await startFakeNgrokAgent({ port: targetPort, url });
  },
  teardown: () => agent?.stop(),
});
