// Test-facing helpers of the fake cloudflared (the executable itself is src/bin/cloudflared.ts).
export {
  CLOUDFLARED_EDGE_FILE_ENV,
  CLOUDFLARED_EDGE_PORT_ENV,
  CLOUDFLARED_FAKE_BUILT,
  CLOUDFLARED_FAKE_VERSION,
  CLOUDFLARED_FAULTS_ENV,
  CLOUDFLARED_INGRESS_ENV,
  CLOUDFLARED_PUBLIC_HOSTNAME_ENV,
  CLOUDFLARED_ROUTES_ENV,
  CLOUDFLARED_SERVICE_TOKEN_ENV,
  CLOUDFLARED_TUNNEL_SECRET_ENV,
  type CloudflaredEdgeInfo,
  type CloudflaredFakeSetup,
  type CloudflaredFaults,
  type CloudflaredTarget,
  cloudflaredFakeEnv,
  makeTunnelToken,
  writeCloudflaredFaults,
} from './hooks';
export { runFakeCloudflared } from './main';
export { parseTunnelToken, type TunnelToken } from './tunnel';
export { formatLine as formatCloudflaredLine } from './zerolog';
