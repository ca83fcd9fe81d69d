// The zod schemas behind a manager's config, for tools that compose a config file of their own (the CLI).
export { duration as durationSchema, parseDuration } from './duration';
export {
  type FailoverInput,
  type FailoverSettings,
  failoverSchema,
  type PathSpecInput,
  pathSchema,
  protocol as protocolSchema,
  target as targetSchema,
} from './schema';
