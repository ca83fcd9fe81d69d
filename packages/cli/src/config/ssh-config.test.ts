import { describe, expect, it } from 'vitest';
import { sshConfigEntry } from './ssh-config';

describe('the ssh_config entry for the front door', () => {
  it('checks the real target host key (HostKeyAlias), so the first ssh through the front door works', () => {
    const entry = sshConfigEntry({ host: '127.0.0.1', port: 2222 }, { host: 'devbox.internal', port: 22 });
    expect(entry.text).toBe(
      [
        '# tunnelmux: `ssh devbox` goes through the front door to devbox.internal; add this to ~/.ssh/config',
        'Host devbox',
        '  HostName 127.0.0.1',
        '  Port 2222',
        '  # Check the host key ssh already knows for the real target, not one for the local front door.',
        '  HostKeyAlias devbox.internal',
        '',
      ].join('\n'),
    );
  });

  it('uses the known_hosts name ssh records off port 22, and a loopback address for an all-interfaces listen', () => {
    const entry = sshConfigEntry({ host: '0.0.0.0', port: 2200 }, { host: '10.0.0.5', port: 2022 });
    expect(entry).toMatchObject({
      host: 'tunnelmux',
      hostName: '127.0.0.1',
      port: 2200,
      hostKeyAlias: '[10.0.0.5]:2022',
    });
  });
});
