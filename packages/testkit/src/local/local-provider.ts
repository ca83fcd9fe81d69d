import { existsSync } from 'node:fs';
import path from 'node:path';
import { defineProvider, type OpenContext, type Provider, ProviderError, type Tunnel } from '@tunnelmux/core';
import type { ChildHandle } from '@tunnelmux/core/provider';
import { z } from 'zod';
import { testkitRoot } from '../paths';

/** Options of one `local` path. */
export const localOptionsSchema = z
  .object({
    /** A JSON fault file the forwarder follows while it runs (see `Faults`). */
    faultFile: z.string().min(1, 'must be a file path').optional(),
    /** A credential stand-in: handed to the forwarder through TUNNELMUX_LOCAL_SECRET only. */
    secret: z.string().min(1).optional(),
    /** How long the forwarder may take to print its readiness line, in ms. */
    readyTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  })
  .strict();

export type LocalOptions = z.output<typeof localOptionsSchema>;

export interface LocalProviderOptions {
  /** The forwarder script to run with `node`; defaults to testkit's own `dist/bin/forwarder.js`. */
  forwarderScript?: string;
}

/** The environment variable that carries `options.secret` to the forwarder. */
export const LOCAL_SECRET_ENV = 'TUNNELMUX_LOCAL_SECRET';

const READY = /^listening on 127\.0\.0\.1:(\d+)/;
const AUTH_FAILED = /authentication failed/i;

/** testkit's built forwarder script. */
export function defaultForwarderScript(): string {
  return path.join(testkitRoot(), 'dist', 'bin', 'forwarder.js');
}

/**
 * A stand-in provider whose tunnel is a real separate process (a loopback forwarder) that can be made to crash,
 * hang, black-hole, slow down, flap or fail auth, so the manager's failover can be tested without any real tool.
 */
export function createLocalProvider(config: LocalProviderOptions = {}): Provider<LocalOptions, LocalOptions> {
  const script = () => config.forwarderScript ?? defaultForwarderScript();
  return defineProvider<LocalOptions, LocalOptions>({
    apiVersion: 1,
    name: 'local',
    summary: 'Local stand-in: a loopback forwarder process with injectable faults (tests and demo)',
    async detect() {
      const file = script();
      return existsSync(file)
        ? { available: true, path: file, version: process.versions.node, detail: 'runs under this Node.js' }
        : {
            available: false,
            detail: `forwarder script ${file} is missing`,
            install: 'build it: pnpm turbo run build --filter=@tunnelmux/testkit',
          };
    },
    access: { options: localOptionsSchema, open: (options, ctx) => openLocal(script(), options, ctx) },
    expose: {
      options: localOptionsSchema,
      async open(options, ctx) {
        const tunnel = await openLocal(script(), options, ctx);
        ctx.setPublicUrl(`tcp://${tunnel.endpoint}`);
        return tunnel;
      },
    },
  });
}

async function openLocal(script: string, options: LocalOptions, ctx: OpenContext): Promise<Tunnel> {
  const args = [script, '--target', `${ctx.target.host}:${ctx.target.port}`];
  if (options.faultFile) args.push('--faults', options.faultFile);
  const env: NodeJS.ProcessEnv = {};
  if (options.secret) {
    ctx.secret(options.secret);
    env[LOCAL_SECRET_ENV] = options.secret;
  }
  // The forwarder exits at once on SIGTERM; a short grace keeps a SIGSTOPped one from stalling close().
  const child = ctx.spawn(process.execPath, args, { env, signal: ctx.signal, killGraceMs: 1000 });
  const offLog = child.onLine((line) => ctx.log[line.stream === 'stderr' ? 'warn' : 'debug'](line.text));
  let port: number;
  try {
    const line = await child.waitForLine((l) => READY.test(l.text) || AUTH_FAILED.test(l.text), {
      signal: ctx.signal,
      timeoutMs: options.readyTimeoutMs,
    });
    if (AUTH_FAILED.test(line.text)) throw authError(child, line.text, ctx.pathId);
    port = Number(READY.exec(line.text)![1]);
  } catch (error) {
    offLog();
    await child.stop();
    if (error instanceof ProviderError && error.fatal) throw error;
    const auth = child.lastLines().find((text) => AUTH_FAILED.test(text));
    if (auth) throw authError(child, auth, ctx.pathId);
    throw new ProviderError(`the forwarder did not become ready: ${(error as Error).message}`, {
      provider: 'local',
      pathId: ctx.pathId,
      lastLines: child.lastLines(),
      cause: error,
    });
  }
  const endpoint = `127.0.0.1:${port}`;
  void child.exited.then(offLog);
  return {
    endpoint,
    pid: child.pid,
    done: child.done,
    dial: (signal) => ctx.dialTcp({ host: '127.0.0.1', port }, { signal, timeoutMs: 5000 }),
    // The forwarder's faults act on its own port, so a plain connect there is the whole dial.
    connectTo: { host: '127.0.0.1', port },
    async close() {
      offLog();
      await child.stop();
    },
  };
}

function authError(child: ChildHandle, line: string, pathId: string): ProviderError {
  return new ProviderError(
    `the forwarder refused its credential (${line.trim()}); check the path's "secret" option`,
    { provider: 'local', pathId, fatal: true, lastLines: child.lastLines() },
  );
}

/** The stand-in provider with testkit's own forwarder script. */
export const localProvider: Provider<LocalOptions, LocalOptions> = createLocalProvider();
