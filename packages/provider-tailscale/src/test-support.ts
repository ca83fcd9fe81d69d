// Test-only helpers (not exported from the package): a fake tailnet on disk, and a provider opened outside a manager.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createManager,
  defineProvider,
  type OpenContext,
  ProviderError,
  type Target,
  type Tunnel,
  validateOptions,
} from '@tunnelmux/core';
import type { BaseOpenContext, Mode } from '@tunnelmux/core/provider';
import { isAlive } from '@tunnelmux/core/testing';
import {
  defaultTailscaleState,
  type FakeTailscaleState,
  fakeEnv,
  TAILSCALE_CALLS_ENV,
  TAILSCALE_STATE_ENV,
  writeTailscaleState,
} from '@tunnelmux/testkit/fakes';
import { z } from 'zod';
import tailscale from './index';

/** A fake tailnet: the state file the fake `tailscale` reads, its call log, a fault file, and an env to run it. */
export interface FakeTailnet {
  stateFile: string;
  faultsFile: string;
  env: NodeJS.ProcessEnv;
  write(state: FakeTailscaleState): void;
  /** Every invocation of the fake so far, oldest first. */
  calls(): Array<{ pid: number; argv: string[] }>;
  cleanup(): void;
}

export function fakeTailnet(state: FakeTailscaleState = defaultTailscaleState()): FakeTailnet {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tunnelmux-tailscale-'));
  const stateFile = path.join(dir, 'state.json');
  const callsFile = path.join(dir, 'calls.jsonl');
  const faultsFile = path.join(dir, 'faults.json');
  writeTailscaleState(stateFile, state);
  return {
    stateFile,
    faultsFile,
    env: {
      ...fakeEnv(),
      [TAILSCALE_STATE_ENV]: stateFile,
      [TAILSCALE_CALLS_ENV]: callsFile,
      TUNNELMUX_FAKE_FAULTS: faultsFile,
    },
    write: (next) => writeTailscaleState(stateFile, next),
    calls: () => {
      try {
        return readFileSync(callsFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { pid: number; argv: string[] });
      } catch {
        return [];
      }
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The real helpers core gives providers, captured through a manager (core exports no other way to get them). */
export async function captureHelpers(env: NodeJS.ProcessEnv): Promise<OpenContext> {
  let captured: OpenContext | undefined;
  const spy = defineProvider({
    apiVersion: 1,
    name: 'capture',
    summary: 'captures an OpenContext for tests',
    access: {
      options: z.object({}).strict(),
      open: async (_options, ctx) => {
        captured = ctx;
        throw new ProviderError('captured', { fatal: true });
      },
    },
  });
  const manager = createManager({ providers: [spy], env, target: '127.0.0.1:1', metricsInterval: 0 });
  await manager.start({ id: 'capture', provider: 'capture' });
  await manager[Symbol.asyncDispose]();
  if (!captured) throw new Error('the capture provider was never opened');
  return captured;
}

/** An open tunnel plus what the provider reported through its context. */
export interface Opened {
  tunnel: Tunnel;
  logs: string[];
  dialFailures: string[];
  /** What the provider announced with `setPublicUrl`, oldest first. */
  publicUrls: string[];
  close(): Promise<void>;
}

/** Validate `options` and open the tailscale provider the way the manager would. */
export async function openTailscale(
  options: unknown,
  env: NodeJS.ProcessEnv,
  target: Target,
  mode: Mode = 'access',
): Promise<Opened> {
  const parsed = await validateOptions(tailscale, options, { mode });
  const helpers = await captureHelpers(env);
  const logs: string[] = [];
  const dialFailures: string[] = [];
  const publicUrls: string[] = [];
  const controller = new AbortController();
  const write = (level: string) => (message: string) => logs.push(`${level} ${message}`);
  const ctx: BaseOpenContext = {
    env: helpers.env,
    childEnv: helpers.childEnv,
    spawn: helpers.spawn,
    freePort: helpers.freePort,
    waitForPort: helpers.waitForPort,
    dialTcp: helpers.dialTcp,
    which: helpers.which,
    undoIfOrphaned: helpers.undoIfOrphaned,
    pathId: 'test',
    mode,
    target,
    signal: controller.signal,
    log: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') },
    secret: () => undefined,
    reportDialFailure: (reason) => dialFailures.push(reason),
    setPublicUrl: (url) => publicUrls.push(url),
  };
  const tunnel = await tailscale.open(parsed, ctx);
  return {
    tunnel,
    logs,
    dialFailures,
    publicUrls,
    close: async () => {
      controller.abort();
      await tunnel.close();
    },
  };
}

/** The error `open` rejects with. */
export async function openError(
  options: unknown,
  env: NodeJS.ProcessEnv,
  target: Target,
  mode: Mode = 'access',
): Promise<ProviderError> {
  const outcome = await openTailscale(options, env, target, mode).then(
    async (opened) => {
      await opened.close();
      return undefined;
    },
    (error: unknown) => error,
  );
  if (!(outcome instanceof ProviderError))
    throw new Error(`expected a ProviderError, got ${String(outcome)}`);
  return outcome;
}

/** Wait (bounded) until `pid` is gone. */
export async function waitGone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !(await isAlive(pid));
}
