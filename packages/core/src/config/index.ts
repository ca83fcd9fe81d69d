// `@tunnelmux/core/config`: the config schemas alone (zod and ms, nothing else), so a CLI can validate a config
// without loading the engine.

// How config errors quote a value (clipped), for loaders that word their own messages.
export { describeValue } from '../errors';
export {
  boundedDuration,
  duration as durationSchema,
  formatDuration,
  parseDuration,
  TIMER_MAX_MS,
} from './duration';
export { configErrorFrom } from './format-issues';
export {
  type FailoverInput,
  type FailoverSettings,
  failoverSchema,
  type PathSpec,
  type PathSpecInput,
  pathId,
  pathSchema,
  protocol as protocolSchema,
  providerId,
  type RoutingStrategy,
  serviceName,
  target as targetSchema,
} from './schema';
