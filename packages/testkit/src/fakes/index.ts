// Each fake tool owns its folder and appends one export line here.
export { fakeBinDir, fakeEnv } from '../paths';
export * from './cloudflared';
export * from './ngrok';
export * from './tailscale';
