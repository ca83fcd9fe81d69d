import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  createManager,
  type Manager,
  ProviderError,
  type TunnelmuxEvent,
  validateOptions,
} from '@tunnelmux/core';
import {
  type BannerServer,
  commandLine,
  createTestContext,
  descendants,
  isAlive,
  startBannerServer,
} from '@tunnelmux/core/testing';
import { writeFaults } from '@tunnelmux/testkit';
import {
  FAKE_NGROK_BAD_TOKEN,
  FAKE_PASS_ENV,
  fakeBinDir,
  fakeNgrokAccounts,
  fakeNgrokAuthtoken,
} from '@tunnelmux/testkit/fakes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentApiBase, exposeArgs, localAddressArg } from './expose';
import provider from './index';
import { firstBytes } from './test-support';

// Authtokens of the real shape, registered with the fake ngrok service: TOKEN's account is fine, LIMITED's is at
// its session limit; anything else the fake refuses, as ngrok does.
const TOKEN = fakeNgrokAuthtoken();
const LIMITED = fakeNgrokAuthtoken();
const ACCOUNTS = fakeNgrokAccounts([TOKEN], { limited: [LIMITED] });
const PATH_WITH_FAKES = `${fakeBinDir()}${path.delimiter}${process.env.PATH ?? ''}`;
// The fake's fault hook reaches it through core's minimal child environment the way a user's variable would.
const FAKES = { PATH: PATH_WITH_FAKES, ...FAKE_PASS_ENV };
const dir = mkdtempSync(path.join(tmpdir(), 'ngrok-expose-'));

/** The fake agents (by their script) running under this test process. */
async function runningAgents(): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await descendants(process.pid)) {
    const argv = await commandLine(pid).catch(() => '');
    if (argv.includes('bin/ngrok')) found.push(pid);
  }
  return found;
}

/** True once nothing accepts on 127.0.0.1:port. */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Poll `test` every 50 ms until it holds or `timeoutMs` passes; returns its last answer. */
async function eventually(test: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await test()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const portOf = (url: string) => Number(/:(\d+)$/.exec(url)![1]);

describe('expose mode: pieces', () => {
  it('passes the port alone for a loopback service, host:port otherwise, and never a token', () => {
    expect(localAddressArg({ host: '127.0.0.1', port: 22 })).toBe('22');
    expect(localAddressArg({ host: '10.0.0.5', port: 22 })).toBe('10.0.0.5:22');
    expect(localAddressArg({ host: '::1', port: 22 })).toBe('[::1]:22');
    expect(
      exposeArgs(
        { url: 'tcp://1.tcp.ngrok.io:20123', metadata: 'home', config: ['/a.yml', '/b.yml'] } as never,
        { host: '127.0.0.1', port: 22 },
      ),
    ).toEqual([
      'tcp',
      '22',
      '--log',
      'stdout',
      '--log-format',
      'json',
      '--url',
      'tcp://1.tcp.ngrok.io:20123',
      '--metadata',
      'home',
      '--config',
      '/a.yml',
      '--config',
      '/b.yml',
    ]);
  });

  it('reads the agent API base from `starting web service`, on loopback', () => {
    expect(agentApiBase('127.0.0.1:4040')).toBe('http://127.0.0.1:4040');
    expect(agentApiBase('0.0.0.0:4041')).toBe('http://127.0.0.1:4041');
    expect(agentApiBase('[::]:4040')).toBe('http://[::1]:4040');
    expect(agentApiBase('nonsense')).toBeUndefined();
  });
});

describe('expose mode', () => {
  let target: BannerServer;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    target = await startBannerServer();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Open an expose path directly, with a recording context. */
  async function open(options: Record<string, unknown>, env: NodeJS.ProcessEnv = { NGROK_AUTHTOKEN: TOKEN }) {
    const test = createTestContext({ target, mode: 'expose', env: { ...FAKES, ...ACCOUNTS, ...env } });
    const tunnel = await provider.open(
      await validateOptions(provider, options, { mode: 'expose' }),
      test.ctx,
    );
    cleanups.push(() => tunnel.close());
    return { tunnel, test };
  }

  /** A manager over the fakes, with quick restarts; records every event. */
  function manager(env: NodeJS.ProcessEnv = { NGROK_AUTHTOKEN: TOKEN }) {
    const events: TunnelmuxEvent[] = [];
    const m: Manager = createManager({
      providers: [provider],
      env: { ...process.env, ...FAKES, ...ACCOUNTS, ...env },
      metricsInterval: 0,
      failover: { interval: 300, backoffInitial: 100, backoffMax: 1000 },
    });
    m.events.on((event) => events.push(event));
    cleanups.push(() => m.shutdown());
    const of = <T extends TunnelmuxEvent['type']>(type: T) =>
      events.filter((event): event is Extract<TunnelmuxEvent, { type: T }> => event.type === type);
    return { m, events, of };
  }

  const spec = (options: Record<string, unknown> = {}) => ({
    id: 'ngrok-ssh',
    provider: 'ngrok',
    mode: 'expose' as const,
    target: `127.0.0.1:${target.port}`,
    options,
  });

  it('publishes the local service, announces the public URL, and check() finds it in the agent API', async () => {
    const { tunnel, test } = await open({});
    expect(tunnel.publicUrl).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(test.publicUrls).toEqual([tunnel.publicUrl]);
    expect(tunnel.endpoint).toBe(tunnel.publicUrl!.slice('tcp://'.length));
    // dial() goes through the public port, so it proves the whole publication.
    const socket = await tunnel.dial(AbortSignal.timeout(5000));
    expect(await firstBytes(socket)).toBe(target.banner);
    socket.destroy();
    const hint = await tunnel.check!(AbortSignal.timeout(5000));
    expect(hint).toMatchObject({ ok: true });
    expect(hint.detail).toContain(`agent API lists ${tunnel.publicUrl}`);
    // Records reach the log at their own level; per-connection records only at debug.
    expect(test.logs).toContainEqual({ level: 'info', message: 'ngrok: started tunnel' });
    expect(test.logs).toContainEqual({ level: 'debug', message: 'ngrok: join connections' });
    const pid = tunnel.pid!;
    expect(await runningAgents()).toEqual([pid]);
    await tunnel.close();
    expect(await isAlive(pid)).toBe(false);
    expect(await refuses(portOf(tunnel.publicUrl!))).toBe(true);
  });

  it('reserves the address given as url, and tags the endpoint with metadata', async () => {
    const port = await createTestContext({ target }).ctx.freePort();
    const url = `tcp://127.0.0.1:${port}`;
    const { tunnel } = await open({ url, metadata: 'home-ssh' });
    expect(tunnel.publicUrl).toBe(url);
    const argv = await commandLine(tunnel.pid!);
    expect(argv).toContain(`--url ${url}`);
    expect(argv).toContain('--metadata home-ssh');
  });

  it('reads the authtoken from a variable authtokenEnv names, and says when it is missing', async () => {
    const { tunnel } = await open(
      { authtokenEnv: 'HOME_NGROK_TOKEN' },
      { NGROK_AUTHTOKEN: '', HOME_NGROK_TOKEN: TOKEN },
    );
    expect(tunnel.publicUrl).toBeDefined();
    const error = await open({ authtokenEnv: 'OTHER_NGROK_TOKEN' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(
      'environment variable OTHER_NGROK_TOKEN (option "authtokenEnv") is not set',
    );
  });

  it('passes extra config files with --config (here holding the authtoken)', async () => {
    const file = path.join(dir, 'token.yml');
    writeFileSync(file, `version: 3\nagent:\n  authtoken: ${TOKEN}\n`, { mode: 0o600 });
    const { tunnel, test } = await open({ config: file }, { NGROK_AUTHTOKEN: '' });
    expect(tunnel.publicUrl).toBeDefined();
    expect(test.logs.some((line) => line.message.includes('NGROK_AUTHTOKEN is not set'))).toBe(true);
  });

  it('rejects access-only options in expose mode', async () => {
    const error = await open({ address: 'tcp://1.tcp.ngrok.io:20123' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('use "url"');
  });

  it('keeps the authtoken out of argv, logs and errors even without core redacting', async () => {
    // A context whose log and secret() record raw text: nothing here is hidden by core's redactor.
    const raw: string[] = [];
    const test = createTestContext({
      target,
      mode: 'expose',
      env: { ...FAKES, ...ACCOUNTS, NGROK_AUTHTOKEN: TOKEN },
    });
    const write = (message: string, fields?: Record<string, unknown>) =>
      raw.push(message + JSON.stringify(fields ?? {}));
    const ctx = {
      ...test.ctx,
      log: { debug: write, info: write, warn: write, error: write },
      secret: () => undefined,
    };
    const tunnel = await provider.open(await validateOptions(provider, {}, { mode: 'expose' }), ctx);
    cleanups.push(() => tunnel.close());
    expect(await commandLine(tunnel.pid!)).not.toContain(TOKEN);
    const socket = await tunnel.dial(AbortSignal.timeout(5000));
    socket.destroy();
    await tunnel.close();
    expect(raw.length).toBeGreaterThan(2);
    expect(raw.join('\n')).not.toContain(TOKEN);

    // A rejected token is echoed by the agent (`Your authtoken: …`); it must not travel on.
    const bad = `${FAKE_NGROK_BAD_TOKEN}_${TOKEN}`;
    const badCtx = {
      ...createTestContext({
        target,
        mode: 'expose',
        env: { ...FAKES, ...ACCOUNTS, NGROK_AUTHTOKEN: bad },
      }).ctx,
      log: { debug: write, info: write, warn: write, error: write },
      secret: () => undefined,
    };
    const error = (await provider
      .open(await validateOptions(provider, {}, { mode: 'expose' }), badCtx)
      .catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.message).toContain('ERR_NGROK_105');
    expect(
      JSON.stringify({ message: error.message, lines: (error as { lastLines?: string[] }).lastLines }),
    ).not.toContain(TOKEN);
    expect(raw.join('\n')).not.toContain(TOKEN);
  });

  it.each([
    [4018, '', 'no authtoken: ngrok requires a verified account and authtoken', 'set NGROK_AUTHTOKEN'],
    [105, `${FAKE_NGROK_BAD_TOKEN}_${TOKEN}`, 'the authtoken is malformed', 'set NGROK_AUTHTOKEN'],
    [
      107,
      fakeNgrokAuthtoken(),
      'the authtoken is well formed but invalid (reset or revoked)',
      'set NGROK_AUTHTOKEN',
    ],
    [
      108,
      LIMITED,
      'the account has reached its limit of simultaneous agent sessions',
      'stop the other ngrok agent',
    ],
  ])(
    'reports ERR_NGROK_%i once, fatal, in words, and leaves no agent running',
    async (code, token, meaning, fix) => {
      const { m, of, events } = manager({ NGROK_AUTHTOKEN: token });
      const status = await m.start(spec());
      expect(status.state).toBe('failed');
      expect(status.lastError).toContain(
        `[tunnelmux] [ngrok] ngrok agent failed with ERR_NGROK_${code}: ${meaning}`,
      );
      expect(status.lastError).toContain(fix);
      expect(status.lastError).toContain(`https://ngrok.com/docs/errors/err_ngrok_${code}`);
      // Bounded wait for a retry that must not happen (backoffInitial is 100 ms).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(of('error')).toHaveLength(1);
      expect(of('error')[0]).toMatchObject({ fatal: true, pathId: 'ngrok-ssh' });
      expect(m.status('ngrok-ssh').state).toBe('failed');
      expect(await runningAgents()).toEqual([]);
      expect(JSON.stringify(events)).not.toContain(TOKEN);
      // The refused token itself, which the agent echoes (`Your authtoken: …`), goes no further either.
      if (token) expect(JSON.stringify(events)).not.toContain(token);
    },
  );

  it('names the variable authtokenEnv gives in the fix', async () => {
    const error = (await open(
      { authtokenEnv: 'HOME_NGROK_TOKEN' },
      { HOME_NGROK_TOKEN: `${FAKE_NGROK_BAD_TOKEN}_${TOKEN}` },
    ).catch((e: unknown) => e)) as ProviderError;
    expect(error.fatal).toBe(true);
    expect(error.message).toContain('set HOME_NGROK_TOKEN to the authtoken');
  });

  it('is not fatal when the agent never starts the tunnel (network down): it times out and is retried', async () => {
    const faultsFile = path.join(dir, 'hang.json');
    writeFaults(faultsFile, { startup: 'hang' });
    const error = (await open(
      { startTimeout: '1500ms' },
      { NGROK_AUTHTOKEN: TOKEN, TUNNELMUX_FAKE_FAULTS: faultsFile },
    ).catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.fatal).toBe(false);
    expect(error.message).toContain('printed no "started tunnel" record within 1500 ms');
    expect(error.message).toContain('failed to reconnect session');
    expect(await runningAgents()).toEqual([]);
  });

  /** A stand-in agent (option `bin`): a shell script printing records, then staying up until SIGTERM. */
  function stubAgent(name: string, script: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\ntrap 'exit 0' TERM\n${script}\nwhile :; do sleep 0.2; done\n`, {
      mode: 0o755,
    });
    return file;
  }
  const record = (fields: Record<string, string>) =>
    `echo '${JSON.stringify({ ...fields, t: '2026-01-01T00:00:00.000000000Z' })}'`;

  it('stops an agent that keeps running after a fatal ERR_NGROK record, and reports it', async () => {
    const bin = stubAgent(
      'limited-agent',
      record({
        err: 'authentication failed: Your account is limited to 1 simultaneous ngrok agent sessions.\r\n\r\nERR_NGROK_108\r\n',
        lvl: 'eror',
        msg: 'failed to reconnect session',
        obj: 'tunnels.session',
      }),
    );
    const test = createTestContext({ target, mode: 'expose', env: { NGROK_AUTHTOKEN: TOKEN } });
    const error = (await provider
      .open(await validateOptions(provider, { bin }, { mode: 'expose' }), test.ctx)
      .catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.fatal).toBe(true);
    expect(error.message).toContain('ERR_NGROK_108: the account has reached its limit');
    // (runningStubs() sees a stand-in while it runs: the next test checks that on a live one.)
    expect(await eventually(async () => (await runningStubs()) === 0)).toBe(true);
  });

  /** Stand-in agents still running under this process. */
  async function runningStubs(): Promise<number> {
    let count = 0;
    for (const pid of await descendants(process.pid)) {
      if ((await commandLine(pid).catch(() => '')).includes(dir)) count++;
    }
    return count;
  }

  it('treats "failed to reconnect session" without a code as transient: the path stays, check() says so', async () => {
    const bin = stubAgent(
      'flaky-agent',
      [
        record({ id: 'abcdefabcdef', lvl: 'info', msg: 'client session established', obj: 'csess' }),
        record({
          addr: `//localhost:${target.port}`,
          lvl: 'info',
          msg: 'started tunnel',
          name: 'command_line',
          obj: 'tunnels',
          url: `tcp://127.0.0.1:${target.port}`,
        }),
        'sleep 0.3',
        record({
          err: 'failed to send authentication request: tls: failed to verify certificate',
          lvl: 'eror',
          msg: 'failed to reconnect session',
          obj: 'tunnels.session',
        }),
      ].join('\n'),
    );
    const { tunnel, test } = await open({ bin });
    expect(await runningStubs()).toBe(1);
    expect(await eventually(async () => !(await tunnel.check!(AbortSignal.timeout(5000))).ok, 5000)).toBe(
      true,
    );
    expect((await tunnel.check!(AbortSignal.timeout(5000))).detail).toContain(
      'failed to reconnect session: failed to send authentication request',
    );
    expect(test.logs).toContainEqual({ level: 'error', message: 'ngrok: failed to reconnect session' });
    const settled = await Promise.race([tunnel.done.then(() => true), Promise.resolve(false)]);
    expect(settled).toBe(false);
    await tunnel.close();
    expect(await isAlive(tunnel.pid!)).toBe(false);
  });

  it('says what the agent printed when it exits before the tunnel starts (transient)', async () => {
    const bin = path.join(dir, 'dying-agent');
    writeFileSync(bin, '#!/bin/sh\necho "something went wrong" >&2\nexit 3\n', { mode: 0o755 });
    const error = (await open({ bin }).catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.fatal).toBe(false);
    expect(error.message).toBe(
      '[tunnelmux] [ngrok] ngrok exited (exit code 3) before it started the tunnel; last lines: something went wrong',
    );
  });

  it('announces the public URL through a manager: event and status', async () => {
    const { m, of, events } = manager();
    const status = await m.start(spec());
    expect(status.state).toBe('connected');
    expect(JSON.stringify(events)).not.toContain(TOKEN);
    expect(status.publicUrl).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(of('public-url').map((event) => event.publicUrl)).toEqual([status.publicUrl]);
    expect(m.status('ngrok-ssh').publicUrl).toBe(status.publicUrl);
  });

  it('restarts a crashed agent with backoff and announces its new public URL', async () => {
    const { m, of } = manager();
    const first = await m.start(spec());
    const firstUrl = first.publicUrl!;
    process.kill(first.pid!, 'SIGKILL');
    expect(await eventually(() => of('public-url').length >= 2, 15_000)).toBe(true);
    expect(of('reconnecting')[0]).toMatchObject({ attempt: 1 });
    const secondUrl = of('public-url')[1]!.publicUrl;
    expect(secondUrl).not.toBe(firstUrl);
    expect(await eventually(() => m.status('ngrok-ssh').state === 'connected', 10_000)).toBe(true);
    expect(m.status('ngrok-ssh').publicUrl).toBe(secondUrl);
    expect(await refuses(portOf(firstUrl))).toBe(true);
  });

  it('does not restart an agent whose credential is revoked while it runs (ExitInfo.fatal)', async () => {
    const faultsFile = path.join(dir, 'revoke.json');
    writeFaults(faultsFile, {});
    const { m, of } = manager({ NGROK_AUTHTOKEN: TOKEN, TUNNELMUX_FAKE_FAULTS: faultsFile });
    expect((await m.start(spec())).state).toBe('connected');
    writeFaults(faultsFile, { startup: 'auth' });
    expect(await eventually(() => m.status('ngrok-ssh').state === 'failed', 10_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(of('error')).toHaveLength(1);
    expect(of('error')[0]).toMatchObject({ fatal: true });
    expect(of('error')[0]!.message).toContain('ERR_NGROK_107: the authtoken is well formed but invalid');
    expect(of('public-url')).toHaveLength(1);
    expect(await runningAgents()).toEqual([]);
  });

  it('withdraws the publication on manager.shutdown()', async () => {
    const { m } = manager();
    const status = await m.start(spec());
    await m.shutdown();
    expect(await isAlive(status.pid!)).toBe(false);
    expect(await refuses(portOf(status.publicUrl!))).toBe(true);
  });

  it('withdraws the publication when the owning tunnelmux process is SIGKILLed', async () => {
    const core = fileURLToPath(new URL('../../core/dist/index.js', import.meta.url));
    const self = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `
      const { createManager } = await import(${JSON.stringify(core)});
      const { default: ngrok } = await import(${JSON.stringify(self)});
      const manager = createManager({ providers: [ngrok], metricsInterval: 0 });
      const status = await manager.start({ id: 'pub', provider: 'ngrok', mode: 'expose',
        target: '127.0.0.1:${target.port}', options: {} });
      console.log(JSON.stringify({ state: status.state, pid: status.pid, publicUrl: status.publicUrl }));
      setInterval(() => {}, 1000);`;
    const owner = execFile(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...FAKES, ...ACCOUNTS, NGROK_AUTHTOKEN: TOKEN },
    });
    cleanups.push(async () => owner.kill('SIGKILL'));
    const published = await new Promise<{ state: string; pid: number; publicUrl: string }>(
      (resolve, reject) => {
        let text = '';
        owner.stdout!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('\n')) resolve(JSON.parse(text.split('\n')[0]!));
        });
        owner.once('exit', (code) => reject(new Error(`owner exited early (${code})`)));
      },
    );
    expect(published.state).toBe('connected');
    const port = portOf(published.publicUrl);
    expect(await refuses(port)).toBe(false);
    owner.kill('SIGKILL');
    expect(await eventually(async () => !(await isAlive(published.pid)), 5000)).toBe(true);
    expect(await eventually(() => refuses(port), 5000)).toBe(true);
  });
});
