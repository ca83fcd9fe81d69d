export { processesMatching } from './processes';
export {
  type ScenarioOptions,
  type ScenarioPath,
  STORY_FAILOVER,
  type Story,
  scenario,
  until,
} from './scenario';
export { describeEvent, formatTimeline, NOISY_EVENTS, offset } from './timeline';
