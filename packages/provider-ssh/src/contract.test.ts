import { testProviderContract } from '@tunnelmux/core/testing';
import { type Sshd, startSshd } from '@tunnelmux/testkit';
import { sshProvider } from './index';
import { jumpOptions } from './test-support';

// The suite's banner server is the target; a real sshd on 127.0.0.1 is the jump host in between.
let jump: Sshd;

testProviderContract({
  provider: sshProvider,
  setup: async () => {
    jump = await startSshd();
  },
  teardown: () => jump?.close(),
  options: () => jumpOptions(jump),
  badOptions: [
    {},
    { host: '' },
    { host: 'jump.example.com', port: 70000 },
    { host: 'jump.example.com', password: 'hunter2' },
    { host: 'jump.example.com', sshOptions: { PasswordAuthentication: 'yes' } },
    { host: 'jump.example.com', strictHostKeyChecking: 'no' },
    { host: 'jump.example.com', strictHostKeyChecking: 'maybe' },
    { host: 'jump.example.com', serverAliveInterval: -1 },
  ],
  timeoutMs: 30_000,
});
