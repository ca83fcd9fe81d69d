export {
  ConfigError,
  clip,
  describeFieldValue,
  describeValue,
  ECHO_LIMIT,
  errorMessage,
  isFatal,
  isSecretField,
  ProviderError,
  StateError,
  TunnelmuxError,
  type TunnelmuxErrorOptions,
} from './errors';
