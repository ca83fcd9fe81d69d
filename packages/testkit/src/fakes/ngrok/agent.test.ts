import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFaults } from '../../forwarder/faults';
import { testkitRoot } from '../../paths';
import { fakeNgrokAccounts, fakeNgrokAuthtoken } from './accounts';
import { startFakeNgrokAgent } from './launch';

const run = promisify(execFile);
const BIN = path.join(testkitRoot(), 'dist', 'bin', 'ngrok.js');
const dir = mkdtempSync(path.join(tmpdir(), 'fake-ngrok-'));
// An account the fake ngrok service knows, as a test registers one.
const TOKEN = fakeNgrokAuthtoken();
const ACCOUNT = { NGROK_AUTHTOKEN: TOKEN, ...fakeNgrokAccounts([TOKEN]) };

/** Run the fake to completion; resolves with its exit code and output. */
async function ngrok(args: string[], env: NodeJS.ProcessEnv = {}) {
  const childEnv = { ...process.env, ...env };
  if (!('NGROK_AUTHTOKEN' in env)) delete childEnv.NGROK_AUTHTOKEN;
  return run(process.execPath, [BIN, ...args], { env: childEnv, timeout: 15_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

/** The first bytes through `port` within `timeoutMs`, or undefined when it stays silent. */
function banner(port: number, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (value?: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(), timeoutMs);
    socket.once('data', (chunk) => done(chunk.toString('latin1')));
    socket.once('error', () => done());
  });
}

describe('fake ngrok agent', () => {
  let target: BannerServer;
  beforeAll(async () => {
    target = await startBannerServer();
  });
  afterAll(async () => {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints its version like the real agent', async () => {
    expect(await ngrok(['version'])).toMatchObject({ code: 0, stdout: 'ngrok version 3.39.2\n' });
  });

  it('fails auth with ERR_NGROK_4018 without a token, on both streams, exit 1', async () => {
    const result = await ngrok(['tcp', '22', '--log', 'stdout', '--log-format', 'logfmt']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^t=\S+ lvl=info msg="starting web service" obj=web addr=127\.0\.0\.1:\d+$/m,
    );
    expect(result.stdout).toContain('lvl=crit msg="command failed"');
    expect(result.stdout).toContain('\\r\\n\\r\\nERR_NGROK_4018\\r\\n"');
    expect(result.stderr).toContain(
      'ERROR:  ERR_NGROK_4018\nERROR:  https://ngrok.com/docs/errors/err_ngrok_4018\nERROR:\n',
    );
  });

  it('takes the token from --authtoken, a --config file or NGROK_AUTHTOKEN', async () => {
    // Well-formed but unknown to the service: each source is read, and each is refused with ERR_NGROK_107.
    const unknown = fakeNgrokAuthtoken();
    const config = path.join(dir, 'ngrok.yml');
    writeFileSync(config, `version: 3\nagent:\n  authtoken: ${unknown}\n`, { mode: 0o600 });
    for (const [args, env] of [
      [['--config', config], {}],
      [[`--authtoken=${unknown}`], {}],
      [[], { NGROK_AUTHTOKEN: unknown }],
    ] as const) {
      const result = await ngrok(['tcp', '22', ...args], { ...env, ...fakeNgrokAccounts([TOKEN]) });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'ERROR:  authentication failed: The authtoken you specified is properly',
      );
      expect(result.stderr).toContain(`Your authtoken: ${unknown}`);
      expect(result.stderr).toContain('ERROR:  ERR_NGROK_107\n');
    }
  });

  it('refuses a token that does not look like an authtoken with ERR_NGROK_105, registered or not', async () => {
    // The captured real one (a stray "~"), a token that lost its secret, and junk.
    for (const token of [
      '1yaP1QLD0cVVKBknmtX9TAduxr6_6BSaEj1DVgGXFiVSHZbz9~',
      TOKEN.split('_')[0]!,
      'bad',
      'ok',
    ]) {
      const result = await ngrok(['tcp', '22'], {
        NGROK_AUTHTOKEN: token,
        ...fakeNgrokAccounts([TOKEN, token]),
      });
      expect(result.code, token).toBe(1);
      expect(result.stderr, token).toContain(
        'ERROR:  authentication failed: The authtoken you specified does not look like a proper ngrok tunnel authtoken.',
      );
      expect(result.stderr, token).toContain('ERROR:  ERR_NGROK_105\n');
    }
  });

  it('starts a session for a registered token and refuses a well-formed one nobody registered', async () => {
    // startFakeNgrokAgent registers the token it gives the agent unless it is handed one.
    const agent = await startFakeNgrokAgent({ port: target.port });
    await agent.stop();
    expect(agent.lines.join('\n')).toContain('"msg":"client session established"');
    // An agent that starts anyway is stopped, so a failing run leaves no process behind.
    const unknown = await startFakeNgrokAgent({ port: target.port, authtoken: fakeNgrokAuthtoken() }).then(
      async (started) => {
        await started.stop();
        return 'started';
      },
      (e: Error) => e,
    );
    expect(String(unknown)).toContain('exited (code 1) before "started tunnel"');
    expect(String(unknown)).toContain('ERR_NGROK_107');
  });

  it('answers a token whose account is at its session limit with ERR_NGROK_108 records and the ERROR: block', async () => {
    const limited = fakeNgrokAuthtoken();
    const result = await ngrok(['tcp', '22', '--log', 'stdout', '--log-format', 'json'], {
      NGROK_AUTHTOKEN: limited,
      ...fakeNgrokAccounts([TOKEN], { limited: [limited] }),
    });
    expect(result.code).toBe(1);
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string>);
    expect(records.at(-1)).toMatchObject({ lvl: 'crit', msg: 'command failed' });
    expect(records.at(-1)!.err).toMatch(/^authentication failed: Your account is limited to 1 simultaneous/);
    expect(records.at(-1)!.err).toMatch(/\r\n\r\nERR_NGROK_108\r\n$/);
    expect(result.stderr).toContain(
      'ERROR:  authentication failed: Your account is limited to 1 simultaneous ngrok agent sessions.\n',
    );
    expect(result.stderr).toContain(
      'ERROR:  ERR_NGROK_108\nERROR:  https://ngrok.com/docs/errors/err_ngrok_108\n',
    );
  });

  it('prints the expose records of the reference, JSON keys sorted, and exits 0 on SIGTERM', async () => {
    const agent = await startFakeNgrokAgent({ port: target.port });
    await agent.stop();
    expect(await agent.exited).toBe(0);
    const [web, session, started] = agent.lines.map((line) => JSON.parse(line) as Record<string, string>);
    for (const record of [web, session, started]) {
      expect(Object.keys(record!)).toEqual(Object.keys(record!).sort());
      expect(record!.t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    }
    expect(web).toMatchObject({ lvl: 'info', msg: 'starting web service', obj: 'web' });
    expect(web!.addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(session).toMatchObject({ lvl: 'info', msg: 'client session established', obj: 'csess' });
    expect(session!.id).toMatch(/^[0-9a-f]{12}$/);
    expect(started).toEqual({
      addr: `//localhost:${target.port}`,
      lvl: 'info',
      msg: 'started tunnel',
      name: 'command_line',
      obj: 'tunnels',
      t: started!.t,
      url: agent.publicUrl,
    });
    // Gone with the agent: nothing listens on the public port any more.
    expect(await banner(agent.publicPort, 500)).toBeUndefined();
  });

  it('fails with ERR_NGROK_334 when the --url address is held by another session', async () => {
    const first = await startFakeNgrokAgent({ port: target.port });
    try {
      const result = await ngrok(['tcp', String(target.port), '--url', first.publicUrl], ACCOUNT);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `ERROR:  failed to start tunnel: The endpoint '${first.publicUrl}' is already online.`,
      );
      expect(result.stderr).toContain('ERROR:  ERR_NGROK_334\n');
    } finally {
      await first.stop();
    }
  });

  it('exits with ERR_NGROK_107 when its credential is revoked while it runs', async () => {
    const faultsFile = path.join(dir, 'revoke.json');
    writeFaults(faultsFile, {});
    const agent = await startFakeNgrokAgent({ port: target.port, faultsFile });
    writeFaults(faultsFile, { startup: 'auth' });
    expect(await agent.exited).toBe(1);
    expect(agent.lines.join('\n')).toContain('ERR_NGROK_107');
  });

  it('rejects unknown flags like cobra', async () => {
    expect(await ngrok(['tcp', '22', '-v'])).toMatchObject({ code: 1 });
    expect((await ngrok(['tcp', '22', '--nope'])).stderr).toBe('ERROR:  unknown flag: --nope\n');
  });

  it('forwards its public port to the local one and serves /api/tunnels', async () => {
    const agent = await startFakeNgrokAgent({ port: target.port });
    try {
      expect(agent.publicUrl).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(await banner(agent.publicPort)).toBe(target.banner);
      const response = await fetch(`http://${agent.webAddr}/api/tunnels`);
      const body = (await response.json()) as {
        tunnels: Array<{ public_url: string; proto: string; metrics: { conns: { count: number } } }>;
      };
      expect(body.tunnels[0]).toMatchObject({ public_url: agent.publicUrl, proto: 'tcp' });
      expect(body.tunnels[0]!.metrics.conns.count).toBe(1);
      expect(agent.lines.some((line) => line.includes('"msg":"join connections"'))).toBe(true);
    } finally {
      await agent.stop();
    }
    expect(await agent.exited).toBe(0);
  });

  it('hangs at start when told to, retrying the session forever', async () => {
    const faultsFile = path.join(dir, 'hang.json');
    writeFaults(faultsFile, { startup: 'hang' });
    const error = await startFakeNgrokAgent({ port: target.port, faultsFile, timeoutMs: 1500 }).catch(
      (e: Error) => e,
    );
    expect(String(error)).toContain('printed no "started tunnel"');
    expect(String(error)).toContain('failed to reconnect session');
  });

  it('crashes at start, or later when the fault file says so', async () => {
    const faultsFile = path.join(dir, 'crash.json');
    writeFaults(faultsFile, { startup: 'crash' });
    expect((await ngrok(['tcp', '22'], { ...ACCOUNT, TUNNELMUX_FAKE_FAULTS: faultsFile })).code).toBe(1);
    writeFaults(faultsFile, {});
    const agent = await startFakeNgrokAgent({ port: target.port, faultsFile });
    writeFaults(faultsFile, { mode: 'crash' });
    expect(await agent.exited).toBe(1);
  });

  it('black-holes, slows down and flaps', async () => {
    const faultsFile = path.join(dir, 'modes.json');
    writeFaults(faultsFile, { mode: 'blackhole' });
    const agent = await startFakeNgrokAgent({ port: target.port, faultsFile });
    try {
      expect(await banner(agent.publicPort, 500)).toBeUndefined();
      writeFaults(faultsFile, { mode: 'slow', latencyMs: 300 });
      // Poll until the agent picked the new plan up (it reads the file every 50 ms).
      let started = Date.now();
      let text: string | undefined;
      for (let i = 0; i < 20 && !text; i++) {
        started = Date.now();
        text = await banner(agent.publicPort, 2000);
      }
      expect(text).toBe(target.banner);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      writeFaults(faultsFile, { mode: 'flap', flapMs: 300 });
      const seen = new Set<boolean>();
      for (let i = 0; i < 40 && seen.size < 2; i++)
        seen.add((await banner(agent.publicPort, 250)) !== undefined);
      expect(seen).toEqual(new Set([true, false]));
    } finally {
      await agent.stop();
    }
  });
});
