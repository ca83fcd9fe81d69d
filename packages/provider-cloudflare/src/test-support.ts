// Test helpers (not part of the package's exports): a real OpenContext from core, recorded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createManager, defineProvider, type LogLevel, type OpenContext, type Target } from '@tunnelmux/core';
import { descendants } from '@tunnelmux/core/testing';
import { z } from 'zod';

export interface LogRecord {
  level: LogLevel;
  message: string;
  fields?: Record<string, unknown>;
}

export interface Harness {
  /** Core's own context (spawn helper, redactor, helpers), with logs and dial failures recorded first. */
  ctx: OpenContext;
  /** What the provider logged, before core's redaction (so a leak shows even if redaction would hide it). */
  logs: LogRecord[];
  dialFailures: string[];
  /** Abort `ctx.signal`, as the manager does on stop or open timeout. */
  abort(): void;
  close(): Promise<void>;
}

/**
 * Core exports no context factory, so borrow the manager's: start a path whose provider hands over its
 * OpenContext and keeps "opening" until the harness closes.
 */
export async function openHarness(env: NodeJS.ProcessEnv, target: Target): Promise<Harness> {
  let hand!: (ctx: OpenContext) => void;
  const handed = new Promise<OpenContext>((resolve) => {
    hand = resolve;
  });
  const grabber = defineProvider({
    apiVersion: 1,
    name: 'context-grabber',
    summary: 'hands its open context to a test',
    access: {
      options: z.object({}).strict(),
      open: (_options, ctx) => {
        hand(ctx);
        return new Promise<never>((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }),
        );
      },
    },
  });
  const manager = createManager({
    env,
    target,
    providers: [grabber],
    failover: { openTimeout: 600_000 },
    metricsInterval: 0,
  });
  void manager.start({ id: 'harness', provider: 'context-grabber' }).catch(() => undefined);
  const base = await handed;
  const controller = new AbortController();
  const logs: LogRecord[] = [];
  const dialFailures: string[] = [];
  const record = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    logs.push({ level, message, fields });
    base.log[level](message, fields);
  };
  const ctx: OpenContext = {
    ...base,
    signal: AbortSignal.any([base.signal, controller.signal]),
    log: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') },
    reportDialFailure: (reason) => {
      dialFailures.push(reason);
      base.reportDialFailure(reason);
    },
  };
  return { ctx, logs, dialFailures, abort: () => controller.abort(), close: () => manager.shutdown() };
}

/** A temporary folder removed by the returned function. */
export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'tunnelmux-cloudflare-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Our child processes whose command line contains `needle` (to find a cloudflared whose open never resolved). */
export async function childrenMatching(needle: string): Promise<number[]> {
  const { readFile } = await import('node:fs/promises');
  const found: number[] = [];
  for (const pid of await descendants(process.pid)) {
    const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (argv.split('\0').join(' ').includes(needle)) found.push(pid);
  }
  return found;
}

/** Poll `check` until it is true or a bounded time passes (for conditions with no event to await). */
export { until } from '@tunnelmux/testkit';

/** A port free on 127.0.0.1 right now (for the fake edge's fixed public port). */
export async function freeLoopbackPort(): Promise<number> {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether 127.0.0.1:`port` refuses a connection right now (nothing listens). */
export async function refuses(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (refused: boolean) => {
      socket.destroy();
      resolve(refused);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(false));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED'));
  });
}

/** Connect to 127.0.0.1:`port` and read until `expected` has arrived (or fail after `timeoutMs`). */
export async function readBanner(port: number, expected: string, timeoutMs = 5000): Promise<string> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(
      () => finish(new Error(`no "${expected.trim()}" from port ${port}: got ${JSON.stringify(text)}`)),
      timeoutMs,
    );
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(text);
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes(expected)) finish();
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error(`port ${port} closed after ${JSON.stringify(text)}`)));
  });
}
