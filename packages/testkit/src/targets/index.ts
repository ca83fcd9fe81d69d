export { FaultPlan } from './fault-plan';
export {
  type BannerTarget,
  freePort,
  readBanner,
  startBannerTarget,
  startEchoServer,
  type TargetServer,
} from './servers';
