import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { ConfigError, ProviderError, type Tunnel, validateOptions } from '@tunnelmux/core';
import { type BannerServer, commandLine, isAlive, startBannerServer } from '@tunnelmux/core/testing';
import {
  type CloudflaredFakeSetup,
  type CloudflaredFaults,
  cloudflaredFakeEnv,
  fakeBinDir,
  fakeEnv,
  writeCloudflaredFaults,
} from '@tunnelmux/testkit/fakes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import cloudflare, { INSTALL_URL } from './index';
import { childrenMatching, type Harness, openHarness, tempDir, until } from './test-support';

const HOST = 'ssh.example.com';
const TOKEN = { id: '7a1c5e0f.access', secret: 'cf-secret-b1946ac92492d2347c6235b4d2611184' };

let target: BannerServer;
const temp = tempDir();
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  target = await startBannerServer();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await target.close();
  temp.remove();
});

interface Opened {
  harness: Harness;
  tunnel: Tunnel;
}

/** A harness whose env runs the fake with `setup` (routes default to the banner target). */
async function harnessFor(setup: Partial<CloudflaredFakeSetup> = {}, extraEnv: NodeJS.ProcessEnv = {}) {
  const env = fakeEnv({
    ...cloudflaredFakeEnv({ routes: { [HOST]: target }, ...setup }),
    ...extraEnv,
  });
  const harness = await openHarness(env, target);
  cleanups.push(() => harness.close());
  return harness;
}

async function open(options: unknown, harness: Harness): Promise<Opened> {
  const valid = await validateOptions(cloudflare, options);
  const tunnel = await cloudflare.open(valid, harness.ctx);
  cleanups.push(() => tunnel.close());
  return { harness, tunnel };
}

/** Read from `socket` until `predicate` holds on what arrived (or it closes/errs). */
function readUntil(socket: net.Socket, predicate: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (predicate(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    // Core's dialTcp allows half-open sockets: the far side closing shows as 'end'.
    socket.once('end', () => resolve(text));
    socket.once('close', () => resolve(text));
  });
}

let faultCount = 0;
function faultFile(faults: CloudflaredFaults): string {
  const file = path.join(temp.dir, `faults-${faultCount++}.json`);
  writeCloudflaredFaults(file, faults);
  return file;
}

describe('cloudflare access path', () => {
  it('opens and carries SSH-like traffic both ways, bulk included', async () => {
    const { tunnel } = await open({ hostname: HOST }, await harnessFor());
    expect(tunnel.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    const socket = (await tunnel.dial(AbortSignal.timeout(5000))) as net.Socket;
    const banner = await readUntil(socket, (text) => text.includes('\r\n'));
    expect(banner).toBe(target.banner);
    // 256 KiB through the listener and back: back-pressure and framing survive.
    const payload = Buffer.alloc(256 * 1024, 'abcdefgh');
    const echoed = readUntil(socket, (text) => text.length >= payload.length);
    socket.write(payload);
    expect(await echoed).toBe(payload.toString('latin1'));
    socket.destroy();
  });

  it('passes the service token through the environment only', async () => {
    const harness = await harnessFor({ serviceToken: TOKEN });
    const { tunnel } = await open(
      { hostname: HOST, serviceTokenId: TOKEN.id, serviceTokenSecret: TOKEN.secret },
      harness,
    );
    const pid = tunnel.pid!;
    expect(await commandLine(pid)).not.toContain(TOKEN.secret);
    expect(await commandLine(pid)).not.toContain(TOKEN.id);
    const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    expect(environ).toContain(`TUNNEL_SERVICE_TOKEN_SECRET=${TOKEN.secret}`);
    // The token works end to end: the fake's Access app lets the connection through.
    const socket = (await tunnel.dial(AbortSignal.timeout(5000))) as net.Socket;
    expect(await readUntil(socket, (text) => text.includes('\r\n'))).toBe(target.banner);
    socket.destroy();
    expect(JSON.stringify(harness.logs)).not.toContain(TOKEN.secret);
  });

  it('reads the service token from the variables named by the ...Env options', async () => {
    const harness = await harnessFor(
      { serviceToken: TOKEN },
      { MY_CF_ID: TOKEN.id, MY_CF_SECRET: TOKEN.secret },
    );
    const { tunnel } = await open(
      { hostname: HOST, serviceTokenIdEnv: 'MY_CF_ID', serviceTokenSecretEnv: 'MY_CF_SECRET' },
      harness,
    );
    const socket = (await tunnel.dial(AbortSignal.timeout(5000))) as net.Socket;
    expect(await readUntil(socket, (text) => text.includes('\r\n'))).toBe(target.banner);
    socket.destroy();
    expect(await commandLine(tunnel.pid!)).not.toContain(TOKEN.secret);
  });

  it('fails with a ConfigError when a named variable is not set', async () => {
    const harness = await harnessFor();
    const error = await open(
      { hostname: HOST, serviceTokenIdEnv: 'UNSET_CF_ID_VAR', serviceTokenSecretEnv: 'UNSET_CF_SECRET_VAR' },
      harness,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('UNSET_CF_ID_VAR');
    expect((error as Error).message).toContain('[tunnelmux] [cloudflare]');
  });

  it('keeps cloudflared levels and fields in ctx.log', async () => {
    const harness = await harnessFor();
    await open({ hostname: HOST }, harness);
    const listener = harness.logs.find((log) => log.message === 'Start Websocket listener');
    expect(listener).toMatchObject({
      level: 'info',
      fields: { host: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
    });
  });

  it('reports each connection cloudflared could not carry as a dial failure (token rejected)', async () => {
    const harness = await harnessFor({ serviceToken: TOKEN, faultsFile: faultFile({ startup: 'auth' }) });
    const { tunnel } = await open(
      { hostname: HOST, serviceTokenId: TOKEN.id, serviceTokenSecret: TOKEN.secret },
      harness,
    );
    const socket = (await tunnel.dial(AbortSignal.timeout(5000))) as net.Socket;
    // cloudflared closes the local socket at once: no banner.
    expect(await readUntil(socket, () => false)).toBe('');
    await until(() => harness.dialFailures.length > 0, 10_000, 'a dial failure');
    expect(harness.dialFailures[0]).toBe(
      `cloudflared could not reach https://${HOST}: websocket: bad handshake`,
    );
    expect(
      harness.logs.some((log) => log.level === 'error' && log.message === 'failed to connect to origin'),
    ).toBe(true);
    // The process keeps running: per-connection failures are not exits.
    expect(await isAlive(tunnel.pid!)).toBe(true);
  });

  it('reports a hostname with no route the same way', async () => {
    const harness = await harnessFor({ routes: {} });
    const { tunnel } = await open({ hostname: 'nowhere.example.com' }, harness);
    const socket = (await tunnel.dial(AbortSignal.timeout(5000))) as net.Socket;
    expect(await readUntil(socket, () => false)).toBe('');
    await until(() => harness.dialFailures.length > 0, 10_000, 'a dial failure');
    expect(harness.dialFailures[0]).toContain('https://nowhere.example.com');
  });

  it('settles done with the last lines when cloudflared crashes', async () => {
    const file = faultFile({});
    const { tunnel } = await open({ hostname: HOST }, await harnessFor({ faultsFile: file }));
    writeCloudflaredFaults(file, { mode: 'crash' });
    const info = await tunnel.done;
    expect(info.exit?.code).toBe(2);
    expect(info.lastLines?.join('\n')).toContain('panic: fake crash');
    expect(info.lastLines?.join('\n')).toContain('Start Websocket listener');
  });

  it('fails open (not fatal) with the last lines when cloudflared crashes at start', async () => {
    const harness = await harnessFor({ faultsFile: faultFile({ startup: 'crash' }) });
    const error = await open({ hostname: HOST }, harness).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).fatal).toBe(false);
    expect((error as ProviderError).message).toMatch(
      /cloudflared exited \(code 2\) before listening on 127\.0\.0\.1:\d+/,
    );
    expect((error as ProviderError).lastLines.join('\n')).toContain('panic:');
  });

  it('does not take the listener line for readiness, and leaves no process when the open is aborted', async () => {
    const hostname = 'hang.example.com';
    const harness = await harnessFor({
      routes: { [hostname]: target },
      faultsFile: faultFile({ startup: 'hang' }),
    });
    const opening = open({ hostname }, harness);
    opening.catch(() => undefined);
    await until(
      () => harness.logs.some((log) => log.message === 'Start Websocket listener'),
      10_000,
      'the listener line',
    );
    let settled = false;
    void opening.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    // The line is out but nothing listens: open must still be waiting.
    expect(await childrenMatching(hostname)).toHaveLength(1);
    expect(settled).toBe(false);
    harness.abort();
    await expect(opening).rejects.toBeDefined();
    await until(
      async () => (await childrenMatching(hostname)).length === 0,
      10_000,
      'cloudflared to be gone',
    );
  });

  it('is fatal with a clear message when the configured port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const port = (blocker.address() as net.AddressInfo).port;
    const error = await open({ hostname: HOST, port }, await harnessFor()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    const failure = error as ProviderError;
    expect(failure.fatal).toBe(true);
    expect(failure.message).toContain(
      `[tunnelmux] [cloudflare] cloudflared could not listen on 127.0.0.1:${port}`,
    );
    expect(failure.message).toContain('address already in use');
    expect(failure.message).toContain('option "port"');
  });

  it('ends the path with a clear reason when Access wants a browser login', async () => {
    // No service token configured, but the fake's Access app demands one: cloudflared prompts on the first connection.
    const harness = await harnessFor({ serviceToken: TOKEN });
    const { tunnel } = await open({ hostname: HOST }, harness);
    const socket = (await tunnel.dial(AbortSignal.timeout(5000))) as net.Socket;
    socket.on('error', () => undefined);
    const info = await tunnel.done;
    socket.destroy();
    expect(info.reason).toContain('interactive Cloudflare Access login');
    expect(info.reason).toContain('"serviceTokenId" and "serviceTokenSecret"');
    expect(info.lastLines?.join('\n')).toContain('A browser window should have opened at the following URL');
    expect(harness.logs.some((log) => log.level === 'error' && log.message.includes('serviceTokenId'))).toBe(
      true,
    );
    expect(await isAlive(tunnel.pid!)).toBe(false);
  });

  it('fails fatally with the install hint when cloudflared is not on PATH', async () => {
    const harness = await openHarness({ ...process.env, PATH: '/nonexistent' }, target);
    cleanups.push(() => harness.close());
    const error = await open({ hostname: HOST }, harness).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).fatal).toBe(true);
    expect((error as Error).message).toContain('cloudflared was not found on PATH');
    expect((error as Error).message).toContain(INSTALL_URL);
  });

  it('fails fatally naming a bad bin, and uses a good one', async () => {
    const harness = await harnessFor();
    const error = await open({ hostname: HOST, bin: '/nonexistent/cloudflared' }, harness).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).fatal).toBe(true);
    expect((error as Error).message).toContain('option "bin"');
    expect((error as Error).message).toContain('/nonexistent/cloudflared');
    // An explicit bin works even when PATH does not have it.
    const bare = await openHarness(
      { ...process.env, PATH: '/usr/bin:/bin', ...cloudflaredFakeEnv({ routes: { [HOST]: target } }) },
      target,
    );
    cleanups.push(() => bare.close());
    const { tunnel } = await open({ hostname: HOST, bin: path.join(fakeBinDir(), 'cloudflared') }, bare);
    const socket = (await tunnel.dial(AbortSignal.timeout(5000))) as net.Socket;
    expect(await readUntil(socket, (text) => text.includes('\r\n'))).toBe(target.banner);
    socket.destroy();
  });

  it('keeps only bounded output when cloudflared prints endless junk', async () => {
    const harness = await harnessFor({ faultsFile: faultFile({ junk: true }) });
    const { tunnel } = await open({ hostname: HOST }, harness);
    // Each junk line is 256 KiB; wait for a few hundred of them (tens of MiB) to have gone through.
    await until(() => harness.logs.length > 200, 60_000, '200 junk lines');
    const longest = Math.max(...harness.logs.map((log) => log.message.length));
    expect(longest).toBeLessThanOrEqual(4096 + '… [truncated]'.length);
    // The path still works while the junk flows.
    const socket = (await tunnel.dial(AbortSignal.timeout(5000))) as net.Socket;
    expect(await readUntil(socket, (text) => text.includes('\r\n'))).toBe(target.banner);
    socket.destroy();
    await tunnel.close();
    const info = await tunnel.done;
    expect(info.lastLines?.length).toBeLessThanOrEqual(50);
    for (const line of info.lastLines ?? [])
      expect(line.length).toBeLessThanOrEqual(4096 + '… [truncated]'.length);
  }, 90_000);

  it('close() stops cloudflared with connections in flight, leaving no process', async () => {
    const { tunnel } = await open(
      { hostname: HOST },
      await harnessFor({ faultsFile: faultFile({ mode: 'blackhole' }) }),
    );
    const socket = (await tunnel.dial(AbortSignal.timeout(5000))) as net.Socket;
    socket.on('error', () => undefined);
    const pid = tunnel.pid!;
    await tunnel.close();
    await tunnel.close();
    expect(await isAlive(pid)).toBe(false);
    expect((await tunnel.done).exit?.code).toBe(0);
    socket.destroy();
  });
});

describe('cloudflare options', () => {
  const reject = async (options: unknown) => {
    const error = await validateOptions(cloudflare, options).catch((e: unknown) => e);
    expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  };

  it('requires hostname and says what it is', async () => {
    expect(await reject({})).toBe(
      '[tunnelmux] [cloudflare] option "hostname": is required (the Access application hostname, e.g. ssh.example.com), got nothing',
    );
  });

  it('names the bad hostname', async () => {
    expect(await reject({ hostname: 'https://ssh.example.com' })).toContain(
      'option "hostname": must be a hostname such as ssh.example.com (no scheme, port or path), got "https://ssh.example.com" (string)',
    );
  });

  it('wants both halves of a service token, from one source each', async () => {
    expect(await reject({ hostname: HOST, serviceTokenId: 'abc' })).toContain(
      'option "serviceTokenSecret": is required',
    );
    expect(
      await reject({ hostname: HOST, serviceTokenId: 'a', serviceTokenIdEnv: 'B', serviceTokenSecret: 'c' }),
    ).toContain('option "serviceTokenIdEnv": cannot be combined with "serviceTokenId"');
    expect(
      await reject({ hostname: HOST, serviceTokenIdEnv: 'not a name', serviceTokenSecretEnv: 'X' }),
    ).toContain('option "serviceTokenIdEnv": must be an environment variable name');
  });

  it('rejects unknown options and bad ports', async () => {
    expect(await reject({ hostname: HOST, token: 'x' })).toContain('token');
    expect(await reject({ hostname: HOST, port: 70000 })).toContain('option "port"');
  });

  it('normalises the hostname', async () => {
    expect(await validateOptions(cloudflare, { hostname: ' SSH.Example.com ' })).toMatchObject({
      hostname: 'ssh.example.com',
    });
  });
});
