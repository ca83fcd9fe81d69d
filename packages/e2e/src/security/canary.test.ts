import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { startBannerServer } from '@tunnelmux/core/testing';
import { freePort, jumpPathOptions, type Sshd, startSshd } from '@tunnelmux/testkit';
import {
  cloudflaredFakeEnv,
  type FakeNgrokApi,
  fakeEnv,
  fakeNgrokAccounts,
  fakeNgrokAuthtoken,
  makeTunnelToken,
  startFakeNgrokApi,
} from '@tunnelmux/testkit/fakes';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The canary sweep: a random value for every secret a provider or the CLI takes, then every command, failing
// ones too; no canary may show in any child's command line, any output, event, status, metric or file written.
// Webhook secrets of `on:` hooks (userinfo, query value, fragment, header value) are swept through a webhook
// that answers and one that fails. ssh identity passphrases are refused as options (ssh-agent holds them), so
// only that refusal is swept.
const require = createRequire(import.meta.url);
const BIN = path.join(path.dirname(require.resolve('@tunnelmux/cli/package.json')), 'dist', 'bin.js');
// Loaded the way a user's own module would be (`plugins:`): the built provider packages.
const plugin = (name: string) =>
  path.join(path.dirname(require.resolve(`@tunnelmux/provider-${name}/package.json`)), 'dist', 'index.js');

const canary = (what: string) => `tmxcanary${what}${randomBytes(12).toString('hex')}`;

/** A throwaway folder with these files, its own runtime and home folders (short: socket paths are limited). */
function testdir(files: Record<string, string>) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-canary-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  mkdirSync(path.join(dir, 'run'), { recursive: true, mode: 0o700 });
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    XDG_RUNTIME_DIR: path.join(dir, 'run'),
    TUNNELMUX_HOME: path.join(dir, 'home'),
    NO_COLOR: '1',
  };
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Where text was seen, to name a leak. */
interface Seen {
  where: string;
  text: string;
}

/** Every /proc/<pid>/cmdline on the machine, sampled until stopped (a leak needs only one sample). */
function sampleCommandLines(intervalMs = 25) {
  const seen = new Map<string, string>();
  const sample = () => {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        if (line) seen.set(`${pid}:${line}`, line);
      } catch {
        // Gone between the listing and the read.
      }
    }
  };
  const timer = setInterval(sample, intervalMs);
  sample();
  return {
    stop(): Seen[] {
      clearInterval(timer);
      sample();
      return [...seen].map(([key, text]) => ({ where: `/proc/${key.split(':')[0]}/cmdline`, text }));
    },
  };
}

/** Every file under `dir` but `except`, as text. */
function filesUnder(dir: string, except: readonly string[]): Seen[] {
  const out: Seen[] = [];
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const file = path.join(at, name);
      const stat = statSync(file, { throwIfNoEntry: false });
      if (!stat || except.includes(file)) continue;
      if (stat.isDirectory()) walk(file);
      else if (stat.isFile()) out.push({ where: file, text: readFileSync(file, 'latin1') });
    }
  };
  walk(dir);
  return out;
}

describe.runIf(process.platform === 'linux')('the canary sweep', () => {
  let jump: Sshd;
  let api: FakeNgrokApi;
  let target: Awaited<ReturnType<typeof startBannerServer>>;
  const secrets = {
    cfTokenId: canary('cfid'),
    cfTokenSecret: canary('cfsecret'),
    cfTunnelSecret: canary('cftunnel'),
    ngrokAuthtoken: fakeNgrokAuthtoken(),
    ngrokApiKey: canary('ngrokapi'),
    sshPassphrase: canary('passphrase'),
    hookPassword: canary('hookpw'),
    hookQuery: canary('hookquery'),
    hookFragment: canary('hookfrag'),
    hookHeader: canary('hookheader'),
    failingHookQuery: canary('failquery'),
  };
  // Where the webhooks go: one answers 204 and records what reached it, the other answers 500 (a failure to report).
  const hookCalls: { url: string; authorization?: string; apiKey?: string }[] = [];
  let hooks: http.Server;
  let hookPort = 0;
  const cfTunnelToken = makeTunnelToken({ s: secrets.cfTunnelSecret });

  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-canary\r\n');
    jump = await startSshd();
    api = await startFakeNgrokApi({ apiKey: secrets.ngrokApiKey });
    hooks = http.createServer((request, response) => {
      hookCalls.push({
        url: String(request.url),
        authorization: request.headers.authorization,
        apiKey: request.headers['x-api-key'] as string | undefined,
      });
      request.resume();
      response.statusCode = request.url?.startsWith('/fail') ? 500 : 204;
      response.end();
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    hookPort = (hooks.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => (hooks ? hooks.close(resolve) : resolve(undefined)));
    await api?.close();
    await jump?.close();
    await target?.close();
  });

  it('finds no secret in any command line, output, event, status, metric or file', async () => {
    const edgePort = await freePort();
    const metricsPort = await freePort();
    const work = testdir({
      'tunnelmux.yaml': [
        'name: canary',
        'listen: 127.0.0.1:0',
        `target: 127.0.0.1:${target.port}`,
        'protocol: ssh',
        `plugins: ${JSON.stringify(['cloudflare', 'ngrok', 'ssh'].map(plugin))}`,
        'failover: { interval: 300ms, timeout: 5s, maxLatency: 5s, backoffInitial: 1m }',
        'paths:',
        // Inline, as a user may write them: the service token id and secret.
        `  - { id: cf-access, provider: cloudflare, options: { hostname: ssh.example.com, serviceTokenId: ${secrets.cfTokenId}, serviceTokenSecret: ${secrets.cfTokenSecret} } }`,
        `  - { id: ngrok-lookup, provider: ngrok, options: { apiUrl: "${api.url}", metadata: nowhere } }`,
        `  - { id: jump, provider: ssh, options: ${JSON.stringify(jumpPathOptions(jump))} }`,
        `  - { id: cf-expose, provider: cloudflare, mode: expose, options: { tunnelTokenEnv: CF_TUNNEL_TOKEN, publicAddress: "127.0.0.1:${edgePort}" } }`,
        '  - { id: ngrok-expose, provider: ngrok, mode: expose }',
        'on:',
        '  "*":',
        `    - { webhook: "http://ops:${secrets.hookPassword}@127.0.0.1:${hookPort}/in?token=${secrets.hookQuery}#${secrets.hookFragment}", headers: { X-Api-Key: ${secrets.hookHeader} }, rateLimit: 0s }`,
        `    - { webhook: "http://127.0.0.1:${hookPort}/fail?token=${secrets.failingHookQuery}", retries: 0, rateLimit: 0s }`,
      ].join('\n'),
      // A hook refused by the loader must not echo its URL's secrets either.
      'badhook.yaml': [
        `target: 127.0.0.1:${target.port}`,
        'paths: [{ id: a, provider: ssh, options: { host: 127.0.0.1 } }]',
        `plugins: ${JSON.stringify([plugin('ssh')])}`,
        'on:',
        `  failover: [{ webhook: "https://ops:${secrets.hookPassword}@hooks.example.com/?token=${secrets.hookQuery}", retries: 99 }]`,
      ].join('\n'),
      // A config whose refusal must not echo the secret it carries.
      'bad.yaml': [
        `plugins: ${JSON.stringify(['cloudflare', 'ssh'].map(plugin))}`,
        `target: 127.0.0.1:${target.port}`,
        'paths:',
        `  - { id: pass, provider: ssh, options: { host: 127.0.0.1, passphrase: ${secrets.sshPassphrase} } }`,
        `  - { id: cf, provider: cloudflare, options: { hostname: x.example.com, serviceTokenId: [${secrets.cfTokenId}], serviceTokenSecret: { s: ${secrets.cfTokenSecret} } } }`,
      ].join('\n'),
    });
    const env: NodeJS.ProcessEnv = {
      ...work.env,
      ...fakeEnv(),
      ...cloudflaredFakeEnv({
        routes: { 'ssh.example.com': target },
        serviceToken: { id: secrets.cfTokenId, secret: secrets.cfTokenSecret },
        ingress: target,
        edgePort,
        tunnelSecret: secrets.cfTunnelSecret,
      }),
      ...fakeNgrokAccounts([secrets.ngrokAuthtoken]),
      XDG_RUNTIME_DIR: work.env.XDG_RUNTIME_DIR,
      TUNNELMUX_HOME: work.env.TUNNELMUX_HOME,
      NGROK_AUTHTOKEN: secrets.ngrokAuthtoken,
      NGROK_API_KEY: secrets.ngrokApiKey,
      CF_TUNNEL_TOKEN: cfTunnelToken,
    };
    const seen: Seen[] = [];
    const run = async (args: string[], timeout = 30_000) => {
      const result = await execa(process.execPath, [BIN, ...args], {
        cwd: work.dir,
        env,
        extendEnv: false,
        reject: false,
        timeout,
        stdin: 'ignore',
      });
      seen.push({ where: `tunnelmux ${args.join(' ')} (stdout)`, text: String(result.stdout) });
      seen.push({ where: `tunnelmux ${args.join(' ')} (stderr)`, text: String(result.stderr) });
      return result;
    };
    const background = (args: string[]) => {
      const child: ResultPromise = execa(process.execPath, [BIN, ...args], {
        cwd: work.dir,
        env,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      });
      return child;
    };
    const sampler = sampleCommandLines();
    try {
      // The resume key: written by keygen, read by the relay.
      expect((await run(['keygen', 'session.key'])).exitCode).toBe(0);
      const keyFile = path.join(work.dir, 'session.key');
      const keyText = readFileSync(keyFile, 'utf8').trim();
      await run(['keygen', 'session.key']);
      await run(['init', '--yes', '--config', 'init.yaml']);
      await run(['providers', '--json']);
      await run(['doctor', '--json']);
      await run(['doctor', '--config', 'bad.yaml']);
      expect((await run(['up', '--config', 'bad.yaml'])).exitCode).toBe(2);
      await run(['doctor', '--config', 'badhook.yaml']);
      expect((await run(['up', '--config', 'badhook.yaml'])).exitCode).toBe(2);

      // `up`, piped: one log line per event, as a service manager would record it.
      const up = background(['up', '--metrics-listen', `127.0.0.1:${metricsPort}`]);
      const paths = async () => {
        const status = await run(['status', '--json', '--name', 'canary']);
        if (status.exitCode !== 0) return undefined;
        const parsed = JSON.parse(String(status.stdout)) as { paths: { id: string; state: string }[] };
        return Object.fromEntries(parsed.paths.map((p) => [p.id, p.state]));
      };
      await expect.poll(paths, { timeout: 45_000, interval: 500 }).toMatchObject({
        'cf-access': 'connected',
        jump: 'connected',
        'cf-expose': 'connected',
        'ngrok-expose': 'connected',
      });
      for (const args of [
        ['status', '--name', 'canary'],
        ['list', '--name', 'canary'],
        ['events', '--name', 'canary', '--json', '--all', '--limit', '100000'],
        ['events', '--name', 'canary', '--limit', '100000'],
        ['metrics', '--name', 'canary', '--json'],
        ['metrics', '--name', 'canary', '--format', 'prometheus'],
        ['restart', 'cf-access', '--name', 'canary'],
        ['restart', 'nope', '--name', 'canary'],
        ['stop', 'ngrok-lookup', '--name', 'canary'],
      ]) {
        await run(args);
      }
      const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
      seen.push({ where: 'GET /metrics', text: scraped });
      up.kill('SIGTERM');
      const upResult = await up;
      seen.push({ where: 'tunnelmux up (stdout)', text: String(upResult.stdout) });
      seen.push({ where: 'tunnelmux up (stderr)', text: String(upResult.stderr) });

      // `expose` with the ngrok authtoken, and a relay holding the resume key.
      const expose = background(['expose', String(target.port), '--via', 'ngrok', '--json']);
      try {
        await expect
          .poll(async () => (await run(['status', '--json', '--name', 'canary'])).stdout, {
            timeout: 30_000,
            interval: 500,
          })
          .toMatch(/"publicUrl"/);
      } catch (error) {
        expose.kill('SIGTERM');
        const out = await expose;
        throw new Error(`expose did not publish: ${out.stdout}\n${out.stderr}`, { cause: error });
      }
      expose.kill('SIGTERM');
      const exposeResult = await expose;
      seen.push({ where: 'tunnelmux expose (stdout)', text: String(exposeResult.stdout) });
      seen.push({ where: 'tunnelmux expose (stderr)', text: String(exposeResult.stderr) });
      const relay = background([
        'relay',
        `127.0.0.1:${target.port}`,
        '--listen',
        '127.0.0.1:0',
        '--key-file',
        keyFile,
      ]);
      await expect
        .poll(async () => (await run(['status', '--json', '--name', 'relay'])).exitCode, {
          timeout: 30_000,
          interval: 500,
        })
        .toBe(0);
      await run(['events', '--name', 'relay', '--json', '--all']);
      await run(['metrics', '--name', 'relay', '--format', 'prometheus']);
      relay.kill('SIGTERM');
      const relayResult = await relay;
      seen.push({ where: 'tunnelmux relay (stdout)', text: String(relayResult.stdout) });
      seen.push({ where: 'tunnelmux relay (stderr)', text: String(relayResult.stderr) });
      // A relay refusing a key file another user could read must not print the key either.
      chmodSync(keyFile, 0o644);
      const refused = await run(
        ['relay', `127.0.0.1:${target.port}`, '--listen', '127.0.0.1:0', '--key-file', keyFile],
        10_000,
      );
      expect(refused.exitCode).not.toBe(0);
      // The lookup path used the API key (and found nothing to reach): the key was exercised, not idle.
      expect(api.requests.some((request) => request.authorized)).toBe(true);
      // Both webhooks were called with their secrets, which reached the receiver and nothing else.
      const basic = `Basic ${Buffer.from(`ops:${secrets.hookPassword}`).toString('base64')}`;
      expect(hookCalls).toContainEqual({
        url: `/in?token=${secrets.hookQuery}`,
        authorization: basic,
        apiKey: secrets.hookHeader,
      });
      expect(hookCalls.some((call) => call.url === `/fail?token=${secrets.failingHookQuery}`)).toBe(true);
      expect(seen.some((where) => where.text.includes('hook-failed'))).toBe(true);

      seen.push(...sampler.stop());
      seen.push(
        ...filesUnder(work.dir, [
          path.join(work.dir, 'tunnelmux.yaml'),
          path.join(work.dir, 'bad.yaml'),
          path.join(work.dir, 'badhook.yaml'),
          keyFile,
        ]),
      );
      const canaries: Record<string, string> = {
        ...secrets,
        hookBasicAuth: Buffer.from(`ops:${secrets.hookPassword}`).toString('base64'),
        cfTunnelToken,
        resumeKey: keyText,
      };
      const leaks = Object.entries(canaries).flatMap(([name, value]) =>
        seen
          .filter((where) => where.text.includes(value))
          .map(
            (where) =>
              `${name} in ${where.where}: …${where.text.slice(Math.max(0, where.text.indexOf(value) - 80), where.text.indexOf(value) + value.length + 20)}…`,
          ),
      );
      console.log(
        `canary sweep: ${Object.keys(canaries).length} secrets, ${seen.length} places looked at, ${leaks.length} leaks`,
      );
      expect(leaks).toEqual([]);
    } finally {
      sampler.stop();
      work.cleanup();
    }
  }, 240_000);
});
