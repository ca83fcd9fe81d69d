export { formatGoDuration, parseGoDuration } from './duration';
export { SERVE_FORWARDER_COMMAND, stopServeForwarders } from './serve';
export {
  type BackendState,
  DEFAULT_TAILSCALE_SOCKET,
  defaultTailscaleState,
  type FakeServeConfig,
  type FakeTailscaleNode,
  type FakeTailscaleState,
  type FakeTCPPortHandler,
  readTailscaleState,
  TAILSCALE_CALLS_ENV,
  TAILSCALE_STATE_ENV,
  updateTailscalePeer,
  updateTailscaleState,
  writeTailscaleState,
} from './state';
