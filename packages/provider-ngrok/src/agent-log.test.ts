import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fakeBinDir } from '@tunnelmux/testkit/fakes';
import { describe, expect, it } from 'vitest';
import { agentEvent, parseAgentFailure, parseAgentRecord } from './agent-log';

// Captured from real agents (pyngrok issue #125, 2023; Storm-Breaker issue #58, 2021; reference §2.2).
const LOGFMT_4018 = [
  't=2023-12-28T01:21:06+0000 lvl=eror msg="failed to reconnect session" obj=tunnels.session obj=csess id=41787fcfc8aa err="authentication failed: Usage of ngrok requires a verified account and authtoken.\\n\\nSign up for an account: https://dashboard.ngrok.com/signup\\nInstall your authtoken: https://dashboard.ngrok.com/get-started/your-authtoken\\r\\n\\r\\nERR_NGROK_4018\\r\\n"',
  't=2023-12-28T01:21:06+0000 lvl=eror msg="session closing" obj=tunnels.session err="authentication failed: Usage of ngrok requires a verified account and authtoken.\\n\\nSign up for an account: https://dashboard.ngrok.com/signup\\nInstall your authtoken: https://dashboard.ngrok.com/get-started/your-authtoken\\r\\n\\r\\nERR_NGROK_4018\\r\\n"',
];
const LOGFMT_105 =
  't=2021-09-24T23:20:55-0400 lvl=eror msg="failed to auth" obj=tunnels.session err="The authtoken you specified does not look like a proper ngrok tunnel authtoken.\\nYour authtoken: 1yaP1QLD0cVVKBknmtX9TAduxr6_6BSaEj1DVgGXFiVSHZbz9~\\nInstructions to install your authtoken are on your ngrok dashboard:\\nhttps://dashboard.ngrok.com/get-started/your-authtoken\\r\\n\\r\\nERR_NGROK_105\\r\\n"';
const JSON_STARTED =
  '{"addr":"http://localhost:8080","lvl":"info","msg":"started tunnel","name":"command_line","obj":"tunnels","t":"2022-06-07T11:05:41.083489579Z","url":"https://f6fb-79-144-242-50.eu.ngrok.io"}';
const ERROR_BLOCK_108 = [
  'ERROR:  authentication failed: Your account is limited to 1 simultaneous ngrok agent sessions.',
  'ERROR:  You can run multiple simultaneous tunnels from a single agent session by defining the tunnels in your agent configuration file and starting them with the command `ngrok start --all`.',
  'ERROR:',
  'ERROR:  ERR_NGROK_108',
  'ERROR:  https://ngrok.com/docs/errors/err_ngrok_108',
  'ERROR:',
];

describe('parseAgentRecord / agentEvent', () => {
  it('reads the JSON and logfmt records of a started tunnel', () => {
    expect(agentEvent(JSON_STARTED)).toEqual({
      kind: 'tunnel',
      url: 'https://f6fb-79-144-242-50.eu.ngrok.io',
      name: 'command_line',
      addr: 'http://localhost:8080',
    });
    const logfmt =
      't=2024-09-07T00:05:31+0000 lvl=info msg="started tunnel" obj=tunnels name=kafka addr=//kafka:9092 url=tcp://2.tcp.us-cal-1.ngrok.io:19757';
    expect(agentEvent(logfmt)).toMatchObject({
      kind: 'tunnel',
      url: 'tcp://2.tcp.us-cal-1.ngrok.io:19757',
      name: 'kafka',
    });
    expect(
      agentEvent('{"addr":"0.0.0.0:4040","lvl":"info","msg":"starting web service","obj":"web"}'),
    ).toEqual({
      kind: 'web',
      addr: '0.0.0.0:4040',
    });
  });

  it('unquotes Go-escaped logfmt values and keeps the first of repeated keys', () => {
    const record = parseAgentRecord(LOGFMT_4018[0]!);
    expect(record?.obj).toBe('tunnels.session');
    expect(record?.err).toContain('\r\n\r\nERR_NGROK_4018\r\n');
    expect(record?.err).toContain('authtoken.\n\nSign up');
  });

  it('ignores console text and blank lines', () => {
    expect(parseAgentRecord('Session Status   online')).toBeUndefined();
    expect(parseAgentRecord('')).toBeUndefined();
    expect(parseAgentRecord('{not json')).toBeUndefined();
  });
});

describe('parseAgentFailure', () => {
  it('explains ERR_NGROK_4018 from the captured logfmt records', () => {
    const failure = parseAgentFailure(LOGFMT_4018);
    expect(failure).toMatchObject({
      code: 4018,
      fatal: true,
      docs: 'https://ngrok.com/docs/errors/err_ngrok_4018',
    });
    expect(failure?.detail).toBe(
      'authentication failed: Usage of ngrok requires a verified account and authtoken.',
    );
    expect(failure?.message).toContain('NGROK_AUTHTOKEN');
  });

  it('masks the authtoken ERR_NGROK_105 echoes back', () => {
    const failure = parseAgentFailure([LOGFMT_105]);
    expect(failure?.code).toBe(105);
    expect(failure?.meaning).toBe('the authtoken is malformed');
    expect(JSON.stringify(failure)).not.toContain('1yaP1QLD0cVVKBknmtX9TAduxr6');
  });

  it('reads the ERROR: console block alone', () => {
    const failure = parseAgentFailure(ERROR_BLOCK_108);
    expect(failure?.code).toBe(108);
    expect(failure?.detail).toBe(
      'authentication failed: Your account is limited to 1 simultaneous ngrok agent sessions.',
    );
  });

  it('reads the SDK form `error_code: ERR_NGROK_4018`', () => {
    expect(parseAgentFailure(['failed to connect session: … error_code: ERR_NGROK_4018'])?.code).toBe(4018);
  });

  it('finds nothing in a healthy start', () => {
    expect(parseAgentFailure([JSON_STARTED, ''])).toBeUndefined();
  });

  // The same parser will read expose mode's agent; here it reads the fake agent's real-format output.
  it.each([
    [{}, 4018, 'json'],
    [{ NGROK_AUTHTOKEN: 'bad' }, 105, 'logfmt'],
  ] as const)('parses the fake agent failing auth (%o)', async (env, code, format) => {
    const run = promisify(execFile);
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (!('NGROK_AUTHTOKEN' in env)) delete childEnv.NGROK_AUTHTOKEN;
    const error = await run(
      process.execPath,
      [
        path.join(fakeBinDir(), '..', 'dist', 'bin', 'ngrok.js'),
        'tcp',
        '22',
        '--log',
        'stdout',
        '--log-format',
        format,
      ],
      { env: childEnv, timeout: 15_000 },
    ).then(
      () => undefined,
      (e: { code?: number; stdout: string; stderr: string }) => e,
    );
    expect(error?.code).toBe(1);
    const lines = `${error!.stdout}\n${error!.stderr}`.split('\n');
    expect(lines.some((line) => line.startsWith('ERROR:  ERR_NGROK_'))).toBe(true);
    const failure = parseAgentFailure(lines);
    expect(failure?.code).toBe(code);
    expect(failure?.fatal).toBe(true);
    expect(failure?.message).toMatch(new RegExp(`^ngrok agent failed with ERR_NGROK_${code}: `));
  });
});
