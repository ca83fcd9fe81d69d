// socat's diagnostic lines (`-d -d`): `2026/11/25 18:19:11 socat[22009] N listening on AF=2 127.0.0.1:45123`.

export interface SocatLine {
  /** The socat process that printed it: the listener, or one of the relay children it forks. */
  pid: number;
  /** D(ebug), I(nfo), N(otice), W(arning), E(rror), F(atal). */
  level: 'D' | 'I' | 'N' | 'W' | 'E' | 'F';
  message: string;
}

const LINE = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(?:\.\d+)? socat\[(\d+)\] ([DINWEF]) (.*)$/;

/** One diagnostic line, or undefined for anything else. */
export function parseSocatLine(text: string): SocatLine | undefined {
  const match = LINE.exec(text.trimEnd());
  if (!match) return undefined;
  return { pid: Number(match[1]), level: match[2] as SocatLine['level'], message: match[3]! };
}

/** `forked off child process 22011` → 22011. */
export function forkedChild(message: string): number | undefined {
  const match = /^forked off child process (\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** A relay child's error that means it could not reach the target (a failed dial, not a dead path). */
export function isConnectFailure(message: string): boolean {
  return /^(?:connect\(|getaddrinfo\(|.*(?:Connection refused|timed out|No route to host|Network is unreachable))/.test(
    message,
  );
}

/** What a listener that died before listening said, as a sentence and whether retrying can help. */
export function explainStartFailure(
  lines: readonly string[],
  listen: { host: string; port: number },
  fixedPort: boolean,
): { message: string; fatal: boolean } {
  const errors = lines
    .map(parseSocatLine)
    .filter((line) => line && (line.level === 'E' || line.level === 'F'));
  const last = errors.at(-1)?.message;
  const where = `${listen.host}:${listen.port}`;
  if (last && /Address already in use/.test(last)) {
    return {
      message: fixedPort
        ? `socat cannot listen on ${where}: the port is in use; free it, pick another option "port", or leave "port" unset for a free one`
        : `socat cannot listen on ${where}: the port was taken before socat bound it; retrying with another`,
      fatal: false,
    };
  }
  if (last && /Cannot assign requested address/.test(last)) {
    return {
      message: `socat cannot listen on ${where}: option "bind" ${JSON.stringify(listen.host)} is not an address of this machine; use 127.0.0.1 or one of its own addresses`,
      fatal: true,
    };
  }
  if (last && /Permission denied/.test(last)) {
    return {
      message: `socat may not listen on ${where}: ports below 1024 need privileges; pick option "port" above 1023 or leave it unset`,
      fatal: true,
    };
  }
  return {
    message: `socat exited before listening on ${where}${last ? `: ${last}` : ''}`,
    fatal: false,
  };
}
