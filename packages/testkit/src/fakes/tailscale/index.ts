export { formatGoDuration, parseGoDuration } from './duration';
export {
  type BackendState,
  DEFAULT_TAILSCALE_SOCKET,
  defaultTailscaleState,
  type FakeTailscaleNode,
  type FakeTailscaleState,
  readTailscaleState,
  TAILSCALE_CALLS_ENV,
  TAILSCALE_STATE_ENV,
  updateTailscalePeer,
  writeTailscaleState,
} from './state';
