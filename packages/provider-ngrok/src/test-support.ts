// A hand-made OpenContext for scenario tests: it records logs, secrets and dial failures, and redacts nothing,
// so a test that finds no key in the logs proves the provider never wrote it.
import type { BaseOpenContext } from '@tunnelmux/core/provider';
import { createTestContext } from '@tunnelmux/core/testing';

export interface RecordingContext extends BaseOpenContext {
  logs: string[];
  secrets: string[];
  dialFailures: string[];
  abort(): void;
}

// Core's own dial, the one the manager hands providers.
const { dialTcp } = createTestContext({ target: { host: '127.0.0.1', port: 1 } }).ctx;

/** An access-mode context over `env`; `spawn` is not needed by access mode and throws. */
export function recordingContext(env: NodeJS.ProcessEnv): RecordingContext {
  const controller = new AbortController();
  const logs: string[] = [];
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    logs.push(`${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
  const secrets: string[] = [];
  const dialFailures: string[] = [];
  return {
    env,
    childEnv: () => ({}),
    spawn: () => {
      throw new Error('access mode must not spawn a process');
    },
    freePort: async () => 0,
    waitForPort: async () => undefined,
    dialTcp,
    which: async () => undefined,
    undoIfOrphaned: () => () => undefined,
    pathId: 'test',
    mode: 'access',
    target: { host: '127.0.0.1', port: 22 },
    signal: controller.signal,
    log: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') },
    secret: (value) => secrets.push(value),
    reportDialFailure: (reason) => dialFailures.push(reason),
    setPublicUrl: () => undefined,
    logs,
    secrets,
    dialFailures,
    abort: () => controller.abort(),
  };
}

/** The first bytes a socket sends (the SSH banner), or a rejection after `timeoutMs`. */
export function firstBytes(
  socket: NodeJS.ReadableStream & { destroy(): void },
  timeoutMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no bytes within ${timeoutMs} ms`)), timeoutMs);
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(chunk.toString('latin1'));
    });
    socket.once('error', (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
