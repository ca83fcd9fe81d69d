export { type DemoOptions, type DemoSummary, runDemo } from './demo';
export {
  type Faults,
  Forwarder,
  type ForwarderOptions,
  readFaults,
  watchFaults,
  writeFaults,
} from './forwarder';
export {
  createLocalProvider,
  defaultForwarderScript,
  LOCAL_SECRET_ENV,
  type LocalOptions,
  type LocalProviderOptions,
  localOptionsSchema,
  localProvider,
} from './local';
export { FAKE_PASS_ENV, fakeBinDir, fakeEnv, testkitRoot } from './paths';
export {
  describeEvent,
  formatTimeline,
  processesMatching,
  type ScenarioOptions,
  type ScenarioPath,
  STORY_FAILOVER,
  type Story,
  scenario,
  until,
} from './scenario';
export * from './sshd';
export {
  type BannerTarget,
  FaultPlan,
  freePort,
  readBanner,
  startBannerTarget,
  startEchoServer,
  type TargetServer,
} from './targets';
