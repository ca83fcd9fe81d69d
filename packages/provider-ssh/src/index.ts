// @tunnelmux/provider-ssh: access paths as an OpenSSH local forward (`ssh -N -L`) through a jump host.
import { defineProvider } from '@tunnelmux/core';
import type { OptionsSchema } from '@tunnelmux/core/provider';
import { openAccess } from './access';
import { optionsSchema, type SshOptions } from './options';

/** `OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.x` → `9.2p1`. */
export function parseSshVersion(output: string): string | undefined {
  return /OpenSSH_([0-9][\w.]*)/.exec(output)?.[1];
}

/** The `ssh` provider: an OpenSSH local forward (`ssh -N -L`) through a jump host. */
export const sshProvider = defineProvider({
  apiVersion: 1,
  name: 'ssh',
  summary: 'SSH local forward through a jump host (OpenSSH ssh -N -L)',
  binary: {
    command: 'ssh',
    versionArgs: ['-V'],
    install:
      'install OpenSSH: `apt-get install openssh-client` (Debian/Ubuntu), `brew install openssh`, https://www.openssh.com/',
    parseVersion: parseSshVersion,
    // The user's agent may hold the key; nothing else of tunnelmux's environment reaches ssh.
    env: ['SSH_AUTH_SOCK'],
  },
  access: { options: optionsSchema as OptionsSchema<SshOptions>, open: openAccess },
});

export default sshProvider;
export { sshArgs } from './access';
export { CHANNEL_OPEN_FAILED, type Explanation, explainSshFailure } from './explain';
export { optionsSchema, type SshOptions, sshOptionsSchema } from './options';
