import { sshProvider } from './provider';

export { CHANNEL_OPEN_FAILED, type Explanation, explainSshFailure } from './explain';
export { optionsSchema, type SshOptions, sshOptionsSchema } from './options';
export { parseSshVersion, sshArgs, sshProvider } from './provider';
export default sshProvider;
