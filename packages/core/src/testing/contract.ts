import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors';
import { firstBytes } from '../failover/probe';
import { dialTcp } from '../net/tcp';
import { isProvider, validateOptions } from '../provider/define-provider';
import { createHelpers } from '../provider/helpers';
import { createOpenContext } from '../provider/open-context';
import { Redactor } from '../provider/redactor';
import type { LogLevel, Mode, Provider, Target, Tunnel } from '../provider/types';
import { type BannerServer, startBannerServer } from './banner-server';
import { commandLine, descendants, isAlive, listeningPorts } from './process-state';

/**
 * What a provider brings to the contract suite. Set-up order, once per suite: the target (an SSH-like loopback
 * banner server) starts, then `setup(target)`, then `env(target)`; each test then calls `options(target)` and
 * opens a path. After the suite: every opened path is closed, the target stops, then `teardown()`.
 */
export interface ContractSetup {
  provider: Provider;
  /** Options (as a user writes them, for `mode`) that open a working path to `target`; may be async. */
  options: (target: Target) => unknown | Promise<unknown>;
  /** Environment for the provider's processes (e.g. PATH with the fake binaries first); runs after `setup`. */
  env?: (target: Target) => NodeJS.ProcessEnv | Promise<NodeJS.ProcessEnv>;
  /** Option sets that must be rejected with a ConfigError. */
  badOptions: readonly unknown[];
  /** A secret the options carry; it must not reach argv or logs. */
  canary?: string;
  /** The mode under test (default access). */
  mode?: Mode;
  /** Make the path die by itself; default SIGKILL of `tunnel.pid`. */
  crash?: (tunnel: Tunnel) => Promise<void> | void;
  /** Per-test time limit (default 20 s). */
  timeoutMs?: number;
  /** Runs once, after the target started (start a server in front of it, write files); its result is ignored. */
  setup?: (target: Target) => Promise<unknown> | unknown;
  teardown?: () => Promise<unknown> | unknown;
}

interface Opened {
  tunnel: Tunnel;
  logs: string[];
  close(): Promise<void>;
}

/** The provider contract: every provider, first- or third-party, runs this against its real or fake tool. */
export function testProviderContract(setup: ContractSetup): void {
  const { provider } = setup;
  const timeout = setup.timeoutMs ?? 20_000;
  const mode = setup.mode ?? 'access';

  describe(`provider contract: ${provider.name}`, () => {
    let target: BannerServer;
    let env: NodeJS.ProcessEnv;
    const cleanups: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      target = await startBannerServer();
      await setup.setup?.(target);
      env = { ...process.env, ...(await setup.env?.(target)) };
    }, timeout);

    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      await target?.close();
      await setup.teardown?.();
    }, timeout);

    async function open(): Promise<Opened> {
      const options = await validateOptions(provider, await setup.options(target), { mode });
      const logs: string[] = [];
      const controller = new AbortController();
      const ctx = createOpenContext({
        pathId: 'contract',
        mode,
        target,
        signal: controller.signal,
        helpers: createHelpers(env),
        redactor: new Redactor(),
        onLog: (level: LogLevel, message: string) => logs.push(`${level} ${message}`),
      });
      const tunnel = await provider.open(options, ctx);
      const close = async () => {
        controller.abort();
        await tunnel.close();
      };
      cleanups.push(close);
      return { tunnel, logs, close };
    }

    it('is tagged by defineProvider and speaks API 1', () => {
      expect(isProvider(provider)).toBe(true);
      expect(provider.apiVersion).toBe(1);
      expect(provider.name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(provider.modes).toContain(mode);
    });

    it('detects its tool', { timeout }, async () => {
      const result = await provider.detect({ ...createHelpers(env), signal: AbortSignal.timeout(timeout) });
      expect(result.available, result.detail).toBe(true);
    });

    it('is ready when open resolves: the first dial reaches the target', { timeout }, async () => {
      const { tunnel, close } = await open();
      const socket = await tunnel.dial(AbortSignal.timeout(5000));
      const banner = await firstBytes(socket, AbortSignal.timeout(5000));
      socket.destroy();
      expect(banner).toBe(target.banner);
      expect(typeof tunnel.endpoint).toBe('string');
      await close();
    });

    it('connectTo, when declared, reaches the target by a plain TCP connect, as dial() does', {
      timeout,
    }, async () => {
      const { tunnel, close } = await open();
      const connectTo = tunnel.connectTo;
      if (connectTo === undefined) {
        // Not declared: the front door calls dial() for every client, which is always correct.
        expect(tunnel.connectTo).toBeUndefined();
      } else {
        expect(connectTo).toEqual({ host: expect.any(String), port: expect.any(Number) });
        const socket = await dialTcp(connectTo, { signal: AbortSignal.timeout(5000) });
        const banner = await firstBytes(socket, AbortSignal.timeout(5000));
        socket.destroy();
        expect(banner).toBe(target.banner);
      }
      await close();
    });

    it('carries bytes both ways', { timeout }, async () => {
      const { tunnel, close } = await open();
      const socket = await tunnel.dial(AbortSignal.timeout(5000));
      const payload = Buffer.from(`ping-${Date.now()}\n`);
      const received = await new Promise<string>((resolve, reject) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (text.endsWith(payload.toString('latin1'))) resolve(text);
        });
        socket.once('error', reject);
        socket.write(payload);
      });
      socket.destroy();
      expect(received).toBe(target.banner + payload.toString('latin1'));
      await close();
    });

    it('close() leaves no process behind: no pid, no new child, no listener of its own', {
      timeout,
    }, async () => {
      const ours = async () => [process.pid, ...(await descendants(process.pid))];
      const before = new Set(await ours());
      const portsBefore = await listeningPorts([...before]);
      const { tunnel, close } = await open();
      const pid = tunnel.pid;
      const children = pid ? await descendants(pid) : [];
      // The listeners this path opened, in this process or in its children; found without knowing a pid.
      const opened = [...(await listeningPorts(await ours()))].filter((port) => !portsBefore.has(port));
      await close();
      await tunnel.close(); // idempotent
      if (pid) expect(await isAlive(pid), `pid ${pid} still alive after close()`).toBe(false);
      for (const child of children)
        expect(await isAlive(child), `child ${child} outlived close()`).toBe(false);
      const after = await descendants(process.pid);
      // The reaper outlives paths by design, and so may the short-lived commands it runs (its `sed` on a del).
      const reaper = new Set<number>();
      for (const child of after) {
        if (!(await commandLine(child).catch(() => '')).includes('tunnelmux-reaper')) continue;
        reaper.add(child);
        for (const helper of await descendants(child)) reaper.add(helper);
      }
      for (const child of after) {
        if (before.has(child) || reaper.has(child) || !(await isAlive(child))) continue;
        const argv = await commandLine(child).catch(() => '');
        expect.fail(`process ${child} (${argv}) started by the path outlived close()`);
      }
      const left = await listeningPorts(await ours());
      for (const port of opened)
        expect(left.has(port), `port ${port} still listening after close()`).toBe(false);
    });

    it('done settles with a reason when the path dies by itself', { timeout }, async () => {
      const { tunnel, close } = await open();
      const crash = setup.crash ?? ((t: Tunnel) => (t.pid ? process.kill(t.pid, 'SIGKILL') : undefined));
      if (!setup.crash && !tunnel.pid) {
        // Nothing to kill: a provider without a process must say how it crashes.
        expect(setup.crash, 'a provider without a pid must pass crash()').toBeDefined();
      }
      await crash(tunnel);
      const end = await tunnel.done;
      expect(typeof end.reason).toBe('string');
      expect(end.reason.length).toBeGreaterThan(0);
      await close();
    });

    it('rejects bad options with a ConfigError naming the provider', async () => {
      expect(setup.badOptions.length).toBeGreaterThan(0);
      for (const bad of setup.badOptions) {
        const error = await validateOptions(provider, bad, { mode }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `options ${JSON.stringify(bad)} were accepted`).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toContain(`[tunnelmux] [${provider.name}]`);
      }
    });

    if (setup.canary) {
      const canary = setup.canary;
      it('keeps the canary secret out of argv and logs', { timeout }, async () => {
        const { tunnel, logs, close } = await open();
        if (tunnel.pid) {
          for (const pid of [tunnel.pid, ...(await descendants(tunnel.pid))]) {
            const argv = await commandLine(pid).catch(() => '');
            expect(argv, `pid ${pid} argv`).not.toContain(canary);
          }
        }
        expect(logs.join('\n')).not.toContain(canary);
        await close();
      });
    }
  });
}
