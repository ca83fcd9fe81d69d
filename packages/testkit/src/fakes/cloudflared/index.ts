// Test-facing helpers of the fake cloudflared (the executable itself is src/bin/cloudflared.ts).
export {
  CLOUDFLARED_FAKE_BUILT,
  CLOUDFLARED_FAKE_VERSION,
  CLOUDFLARED_FAULTS_ENV,
  CLOUDFLARED_ROUTES_ENV,
  CLOUDFLARED_SERVICE_TOKEN_ENV,
  type CloudflaredFakeSetup,
  type CloudflaredFaults,
  type CloudflaredTarget,
  cloudflaredFakeEnv,
  writeCloudflaredFaults,
} from './hooks';
export { runFakeCloudflared } from './main';
export { formatLine as formatCloudflaredLine } from './zerolog';
