// The provider contract in expose mode: the fake `ngrok tcp` publishes the suite's banner server, and dial()
// reaches it through the fake agent's loopback public port. The authtoken is a canary that must never surface.
import path from 'node:path';
import { testProviderContract } from '@tunnelmux/core/testing';
import { fakeBinDir, fakeNgrokAccounts, fakeNgrokAuthtoken } from '@tunnelmux/testkit/fakes';
import provider from './index';

// Random and of the real shape, registered with the fake ngrok service (which refuses unknown tokens).
const CANARY = fakeNgrokAuthtoken();

testProviderContract({
  provider,
  mode: 'expose',
  canary: CANARY,
  env: () => ({
    PATH: `${fakeBinDir()}${path.delimiter}${process.env.PATH ?? ''}`,
    NGROK_AUTHTOKEN: CANARY,
    ...fakeNgrokAccounts([CANARY]),
  }),
  options: () => ({}),
  badOptions: [
    { authtokenEnv: 'NGROK AUTHTOKEN' },
    { config: [] },
    { startTimeout: 'later' },
    { url: '1.tcp.ngrok.io:20123' },
    { address: 'tcp://1.tcp.ngrok.io:20123', authtokenEnv: 'MY_TOKEN' },
    { authtoken: 'inline' },
  ],
});
