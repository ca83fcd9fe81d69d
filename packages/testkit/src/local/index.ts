export {
  createLocalProvider,
  defaultForwarderScript,
  LOCAL_SECRET_ENV,
  type LocalOptions,
  type LocalProviderOptions,
  localOptionsSchema,
  localProvider,
  localProvider as default,
} from './local-provider';
