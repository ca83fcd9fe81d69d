import net from 'node:net';

/** An `ssh_config` entry that reaches the target through the front door. */
export interface SshConfigEntry {
  /** The name users type: `ssh devbox`. */
  host: string;
  hostName: string;
  port: number;
  /**
   * The name ssh looks the host key up under: the real target, so the key recorded for it is checked instead of
   * an unknown key at 127.0.0.1:PORT ("Host key verification failed" on the first ssh through the front door).
   */
  hostKeyAlias: string;
  text: string;
}

/** The known_hosts name of a target: `host`, or `[host]:port` off port 22 (ssh uses the alias verbatim). */
export function hostKeyAlias(target: { host: string; port: number }): string {
  return target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
}

/** The `Host` block for `~/.ssh/config`, from the front door's address and the target behind it. */
export function sshConfigEntry(
  listen: { host: string; port: number },
  target: { host: string; port: number },
  name?: string,
): SshConfigEntry {
  const host = name ?? (net.isIP(target.host) ? 'tunnelmux' : target.host.split('.')[0]!);
  const alias = hostKeyAlias(target);
  // 0.0.0.0 and :: listen everywhere; a client still connects over loopback.
  const hostName = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  const text = [
    `# tunnelmux: \`ssh ${host}\` goes through the front door to ${alias}; add this to ~/.ssh/config`,
    `Host ${host}`,
    `  HostName ${hostName}`,
    `  Port ${listen.port}`,
    '  # Check the host key ssh already knows for the real target, not one for the local front door.',
    `  HostKeyAlias ${alias}`,
    '',
  ].join('\n');
  return { host, hostName, port: listen.port, hostKeyAlias: alias, text };
}
