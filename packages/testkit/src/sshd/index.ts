export { generateKey, type KeyPair, knownHostName, knownHostsLine } from './keys';
export { jumpPathOptions, type Sshd, type SshdOptions, sshLogin, startSshd } from './sshd';
