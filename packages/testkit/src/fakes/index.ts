// Each fake tool owns its folder and appends one export line here.
export { FAKE_PASS_ENV, fakeBinDir, fakeEnv } from '../paths';
export * from './cloudflared';
export * from './ngrok';
export * from './tailscale';
