export { generateKey, type KeyPair, knownHostName, knownHostsLine } from './keys';
export { type Sshd, type SshdOptions, startSshd } from './sshd';
