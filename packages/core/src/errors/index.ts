export {
  ConfigError,
  describeValue,
  errorMessage,
  isFatal,
  ProviderError,
  StateError,
  TunnelmuxError,
  type TunnelmuxErrorOptions,
} from './errors';
