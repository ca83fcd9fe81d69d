/** What ssh's last lines mean, for an error or an exit reason. */
export interface Explanation {
  kind:
    | 'permission-denied'
    | 'host-key-unknown'
    | 'host-key-changed'
    | 'host-key-failed'
    | 'connection-refused'
    | 'timeout'
    | 'forward-bind-failed'
    | 'resolve-failed'
    | 'bad-config'
    | 'unknown';
  /** Retrying cannot help: the key, the host key or the config must change first. */
  fatal: boolean;
  message: string;
}

export interface ExplainInput {
  /** `user@host:port` of the jump host, for messages. */
  destination: string;
  host: string;
  port: number;
  localPort: number;
  knownHostsFile?: string;
  identityFile?: string;
}

/** Read ssh's stderr (newest last) and say what went wrong and how to fix it. */
export function explainSshFailure(lines: readonly string[], input: ExplainInput): Explanation {
  const text = lines.map((line) => line.replace(/\r$/, '')).join('\n');
  const quote = (pattern: RegExp) =>
    lines
      .find((line) => pattern.test(line))
      ?.replace(/\r$/, '')
      .trim() ?? '';
  const knownHosts = input.knownHostsFile ?? '~/.ssh/known_hosts';
  const hostName = input.port === 22 ? input.host : `[${input.host}]:${input.port}`;

  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/.test(text)) {
    return {
      kind: 'host-key-changed',
      fatal: true,
      message:
        `the host key of ${input.destination} has CHANGED from the one in ${knownHosts} ` +
        `(ssh: "REMOTE HOST IDENTIFICATION HAS CHANGED"); someone may be intercepting the connection. ` +
        `If the server was really re-keyed, verify the new fingerprint out of band, then remove the old entry with ` +
        `\`ssh-keygen -R '${hostName}' -f ${knownHosts}\``,
    };
  }
  if (/No \S+ host key is known for|Host key verification failed/.test(text)) {
    const unknown = /No \S+ host key is known for/.test(text);
    return {
      kind: unknown ? 'host-key-unknown' : 'host-key-failed',
      fatal: true,
      message: unknown
        ? `the host key of ${input.destination} is not in ${knownHosts} and strict checking is on ` +
          `(ssh: "${quote(/No \S+ host key is known for/)}"). Add it after checking its fingerprint: ` +
          `\`ssh-keyscan -p ${input.port} ${input.host} >> ${knownHosts}\`, or set strictHostKeyChecking: accept-new`
        : `ssh could not verify the host key of ${input.destination} (ssh: "Host key verification failed."); ` +
          `check the entry for ${hostName} in ${knownHosts}`,
    };
  }
  if (/Permission denied \(/.test(text)) {
    const key = input.identityFile ? `the key ${input.identityFile}` : 'the keys ssh offered';
    return {
      kind: 'permission-denied',
      fatal: true,
      message:
        `${input.destination} refused ${key} (ssh: "${quote(/Permission denied \(/)}"). ` +
        `Add the matching public key to that user's authorized_keys on the jump host, or fix "user"/"identityFile"`,
    };
  }
  if (/Address already in use|cannot listen to port|Could not request local forwarding/.test(text)) {
    return {
      kind: 'forward-bind-failed',
      fatal: false,
      message:
        `ssh could not listen on 127.0.0.1:${input.localPort} for the forward ` +
        `(ssh: "${quote(/Address already in use|cannot listen to port/)}"); another program holds that port. ` +
        `Free it, or leave "localPort" unset so a free port is picked`,
    };
  }
  if (/Connection refused/.test(text)) {
    return {
      kind: 'connection-refused',
      fatal: false,
      message: `${input.destination} refused the connection (ssh: "${quote(/Connection refused/)}"); is sshd running there and is "port" right?`,
    };
  }
  if (
    /timed out|Timeout, server .* not responding|Connection reset|Broken pipe|closed by remote host/i.test(
      text,
    )
  ) {
    return {
      kind: 'timeout',
      fatal: false,
      message: `${input.destination} stopped answering or dropped the connection (ssh: "${quote(/timed out|Timeout, server|Connection reset|Broken pipe|closed by remote host/i)}"); check the network path to it and its sshd`,
    };
  }
  if (/Could not resolve hostname/.test(text)) {
    return {
      kind: 'resolve-failed',
      fatal: false,
      message: `cannot resolve ${input.host} (ssh: "${quote(/Could not resolve hostname/)}")`,
    };
  }
  if (
    /Bad configuration option|command-line line \d+|Unsupported option|unknown option|Bad port|garbage at end of line/i.test(
      text,
    )
  ) {
    return {
      kind: 'bad-config',
      fatal: true,
      message: `ssh rejected its options (ssh: "${quote(/Bad configuration option|command-line line|Unsupported option|unknown option|Bad port|garbage at end of line/i)}"); fix "sshOptions" or "configFile"`,
    };
  }
  const last = lines.at(-1)?.replace(/\r$/, '').trim();
  return {
    kind: 'unknown',
    fatal: false,
    message: last
      ? `ssh to ${input.destination} failed: ${last}`
      : `ssh to ${input.destination} failed without a message`,
  };
}

/** `channel 3: open failed: connect failed: Connection refused`: the jump host cannot reach the target. */
export const CHANNEL_OPEN_FAILED = /^channel \d+: open failed: (.*)$/;
