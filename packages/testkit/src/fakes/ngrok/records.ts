// The log records and console blocks the real ngrok agent v3 prints (see reference/tunnel-clis.md §2.2).

export type LogFormat = 'json' | 'logfmt';
export type Fields = Record<string, string | number>;

/** `2022-06-07T11:05:40.824277919Z`: RFC 3339 with nanoseconds, as the JSON records carry it. */
function jsonTime(date: Date): string {
  return date.toISOString().replace('Z', '000000Z');
}

/** `2024-09-07T00:05:31+0000`, as the logfmt records carry it. */
function logfmtTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, '+0000');
}

/** A logfmt value: bare when safe, else Go-quoted (`\n`, `\r`, `\"` escaped). */
function logfmtValue(value: string | number): string {
  const text = String(value);
  return /^[^\s="\\]+$/.test(text) ? text : JSON.stringify(text);
}

/** One record in ngrok's JSON (keys sorted) or logfmt (`t lvl msg` first) format. */
export function formatRecord(
  format: LogFormat,
  lvl: string,
  msg: string,
  fields: Fields,
  now = new Date(),
): string {
  if (format === 'json') {
    const all: Fields = { ...fields, lvl, msg, t: jsonTime(now) };
    const sorted = Object.fromEntries(
      Object.keys(all)
        .sort()
        .map((key) => [key, all[key]]),
    );
    return JSON.stringify(sorted);
  }
  const parts = [`t=${logfmtTime(now)}`, `lvl=${lvl}`, `msg=${logfmtValue(msg)}`];
  for (const [key, value] of Object.entries(fields)) parts.push(`${key}=${logfmtValue(value)}`);
  return parts.join(' ');
}

/** The `err` text of an authentication rejection, ending with the code as the agent prints it. */
export function authError(code: 4018 | 105 | 107 | 108, token: string): string {
  const dashboard = 'https://dashboard.ngrok.com/get-started/your-authtoken';
  const body =
    code === 108
      ? 'Your account is limited to 1 simultaneous ngrok agent sessions.\n' +
        'You can run multiple simultaneous tunnels from a single agent session by defining the tunnels in your agent configuration file and starting them with the command `ngrok start --all`.\n' +
        'Read more about the agent configuration file: https://ngrok.com/docs/secure-tunnels/ngrok-agent/reference/config\n' +
        'You can view your current agent sessions in the dashboard:\n' +
        'https://dashboard.ngrok.com/agents'
      : code === 4018
        ? 'Usage of ngrok requires a verified account and authtoken.\n\n' +
          'Sign up for an account: https://dashboard.ngrok.com/signup\n' +
          `Install your authtoken: ${dashboard}`
        : code === 105
          ? 'The authtoken you specified does not look like a proper ngrok tunnel authtoken.\n' +
            `Your authtoken: ${token}\n` +
            `Instructions to install your authtoken are on your ngrok dashboard:\n${dashboard}`
          : 'The authtoken you specified is properly formed, but it is invalid.\n' +
            `Your authtoken: ${token}\n` +
            'This usually happens when:\n' +
            '    - You reset your authtoken\n' +
            '    - Your authtoken was for a team account that you were removed from\n' +
            '    - You are using ngrok link and this credential was explicitly revoked\n' +
            `Go to your ngrok dashboard and double check that your authtoken is correct:\n${dashboard}`;
  return `authentication failed: ${body}\r\n\r\nERR_NGROK_${code}\r\n`;
}

/** The `err` text when the requested `--url` is held by another agent session (ERR_NGROK_334). */
export function urlOnlineError(url: string): string {
  return (
    `failed to start tunnel: The endpoint '${url}' is already online. Either\n` +
    '1. stop your existing endpoint first, or\n' +
    '2. start both endpoints with `--pooling-enabled` to load balance between them.\r\n\r\nERR_NGROK_334\r\n'
  );
}

/** The console block the agent prints before exiting on an ERR_NGROK failure. */
export function errorBlock(err: string): string[] {
  const code = /ERR_NGROK_(\d+)/.exec(err)?.[1];
  const text = err.replace(/\r\n\r\nERR_NGROK_\d+\r\n$/, '');
  const lines = text.split('\n');
  if (code) lines.push('', `ERR_NGROK_${code}`, `https://ngrok.com/docs/errors/err_ngrok_${code}`, '');
  return lines.map((line) => `ERROR:  ${line}`.trimEnd());
}

/** A 12-hex-digit id like the agent's session and connection ids. */
export function shortId(): string {
  let id = '';
  for (let i = 0; i < 12; i++) id += Math.floor(Math.random() * 16).toString(16);
  return id;
}
