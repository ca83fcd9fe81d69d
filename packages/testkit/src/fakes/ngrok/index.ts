export {
  FAKE_NGROK_ACCOUNTS_VAR,
  fakeNgrokAccounts,
  fakeNgrokAuthtoken,
} from './accounts';
export { FAKE_NGROK_BAD_TOKEN, FAKE_NGROK_VERSION, runFakeNgrok } from './agent';
export {
  type FakeEndpointInput,
  type FakeNgrokApi,
  type FakeNgrokApiOptions,
  fakeEndpoint,
  type NgrokApiEndpoint,
  startFakeNgrokApi,
} from './api';
export { type FakeNgrokAgent, type FakeNgrokAgentOptions, startFakeNgrokAgent } from './launch';
export { authError, errorBlock, formatRecord, urlOnlineError } from './records';
