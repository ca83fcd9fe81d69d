export {
  ConfigError,
  describeFieldValue,
  describeValue,
  errorMessage,
  isFatal,
  isSecretField,
  ProviderError,
  StateError,
  TunnelmuxError,
  type TunnelmuxErrorOptions,
} from './errors';
