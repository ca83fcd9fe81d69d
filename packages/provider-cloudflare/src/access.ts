// The access side: `cloudflared access tcp --hostname H --url 127.0.0.1:<port>`; `dial` connects to that port.
import net from 'node:net';
import { ConfigError, type OpenContext, ProviderError, type Target, type Tunnel } from '@tunnelmux/core';
import type { ExitInfo } from '@tunnelmux/core/provider';
import { cloudflaredLines, type LogEntry, READY_TIMEOUT_MS, startFailure } from './log-parser';
import { type AccessOptions, resolveServiceToken } from './options';

/** cloudflared started the interactive Access login (token/transfer.go, token/token.go). */
const LOGIN_PROMPTS = [
  'A browser window should have opened at the following URL',
  'Please open the following URL and log in with your Cloudflare account',
  'is already waiting for authentication',
];

/** What went wrong, read from cloudflared's lines. */
export type Diagnosis =
  | { kind: 'login' }
  | { kind: 'bind'; error: string }
  | { kind: 'dial-failure'; reason: string };

/** Classify one parsed line: the login prompt, a listener failure, or one connection that did not get through. */
export function diagnose(entry: LogEntry, hostname: string): Diagnosis | undefined {
  if (LOGIN_PROMPTS.some((prompt) => entry.message.includes(prompt))) return { kind: 'login' };
  if (entry.message === 'Error on Websocket listener') {
    return { kind: 'bind', error: entry.fields.error ?? 'unknown error' };
  }
  if (entry.message === 'failed to connect to origin') {
    const origin = entry.fields.originURL ?? `https://${hostname}`;
    return {
      kind: 'dial-failure',
      reason: `cloudflared could not reach ${origin}: ${entry.fields.error ?? 'unknown error'}`,
    };
  }
  return undefined;
}

function loginError(hostname: string, pathId: string, lastLines?: string[]): ProviderError {
  return new ProviderError(
    `cloudflared asked for an interactive Cloudflare Access login to ${hostname} (it printed a browser URL), which ` +
      'cannot work unattended: set the options "serviceTokenId" and "serviceTokenSecret" (or "serviceTokenIdEnv" and ' +
      `"serviceTokenSecretEnv") to an Access service token allowed by the application, or run \`cloudflared access login https://${hostname}\` once as this user`,
    { provider: 'cloudflare', pathId, fatal: true, code: 'ERR_LOGIN_REQUIRED', lastLines },
  );
}

function bindError(
  listen: Target,
  error: string,
  fixedPort: boolean,
  pathId: string,
  lastLines: string[],
): ProviderError {
  const fix = fixedPort
    ? `free port ${listen.port}, or change option "port" (or remove it to let tunnelmux pick a free port)`
    : 'another process took the free port tunnelmux picked; the path will retry on a new port';
  return new ProviderError(
    `cloudflared could not listen on ${listen.host}:${listen.port} (${error}): ${fix}`,
    {
      provider: 'cloudflare',
      pathId,
      // A port the user chose stays taken on retry; a port we picked is a race a retry fixes.
      fatal: fixedPort,
      code: 'ERR_LISTEN',
      lastLines,
    },
  );
}

/** Why `target` cannot be listened on right now (Go's wording), or undefined when it is free. */
function portBusy(target: Target): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EADDRINUSE'
          ? 'address already in use'
          : error.code === 'EACCES'
            ? 'permission denied'
            : error.message;
      resolve(`listen tcp ${target.host}:${target.port}: bind: ${reason}`);
    });
    server.listen({ host: target.host, port: target.port, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
}

/** Why open failed, from how cloudflared ended and what it printed. */
export function openFailure(input: {
  error: unknown;
  info: ExitInfo;
  loginSeen: boolean;
  bindFailure?: string;
  listen: Target;
  fixedPort: boolean;
  hostname: string;
  pathId: string;
}): ProviderError {
  const { info, listen, pathId } = input;
  const endpoint = `${listen.host}:${listen.port}`;
  const lines = info.lastLines;
  if (input.loginSeen || lines.some((line) => LOGIN_PROMPTS.some((prompt) => line.includes(prompt)))) {
    return loginError(input.hostname, pathId, lines);
  }
  const bind =
    input.bindFailure ?? lines.find((line) => line.startsWith('failed to start forwarding server'))?.trim();
  if (bind) return bindError(listen, bind, input.fixedPort, pathId, lines);
  return startFailure(info, input.error, `listening on ${endpoint}`, `did not listen on ${endpoint}`);
}

/** Open an access path; resolves once cloudflared's listener accepts connections. */
export async function openAccess(options: AccessOptions, ctx: OpenContext): Promise<Tunnel> {
  const { pathId } = ctx;
  const command = await ctx.findBinary(options.bin);
  const { token, missing } = resolveServiceToken(options, ctx.env);
  if (missing) {
    throw ConfigError.invalid(
      `option "${missing.field}"`,
      missing.variable,
      'the name of a set, non-empty environment variable',
      { hint: `set ${missing.variable} in the environment of tunnelmux` },
    );
  }
  if (token) {
    ctx.secret(token.id);
    ctx.secret(token.secret);
  }

  let afterOpenFailure: string | undefined;
  const listen: Target = { host: '127.0.0.1', port: options.port ?? (await ctx.freePort('127.0.0.1')) };
  const endpoint = `${listen.host}:${listen.port}`;
  if (options.port !== undefined) {
    // Someone else listening there would pass the readiness check below; find out before starting cloudflared.
    const busy = await portBusy(listen);
    if (busy) throw bindError(listen, busy, true, pathId, []);
  }
  const args = ['access', 'tcp', '--hostname', options.hostname, '--url', endpoint];
  if (options.logLevel) args.push('--loglevel', options.logLevel);
  // The service token reaches cloudflared only through its environment (its flags would show in ps).
  const env = token ? { TUNNEL_SERVICE_TOKEN_ID: token.id, TUNNEL_SERVICE_TOKEN_SECRET: token.secret } : {};
  const child = ctx.spawn(command, args, {
    env,
    signal: ctx.signal,
    explainExit: () => (afterOpenFailure ? { reason: afterOpenFailure } : undefined),
  });

  let opened = false;
  let loginSeen = false;
  let bindFailure: string | undefined;
  let rejectOpen!: (error: ProviderError) => void;
  const fatalDuringOpen = new Promise<never>((_, reject) => {
    rejectOpen = reject;
  });
  fatalDuringOpen.catch(() => undefined);

  const onLogin = () => {
    if (loginSeen) return;
    loginSeen = true;
    const error = loginError(options.hostname, pathId, child.lastLines());
    if (!opened) {
      rejectOpen(error);
      return;
    }
    // Access is lazy: the prompt comes with the first connection, often after open resolved. The path is
    // useless until someone logs in, so end it and say why.
    afterOpenFailure = error.message;
    ctx.log.error(error.message);
    void child.stop();
  };

  const off = ctx.forwardLines(
    child,
    cloudflaredLines((entry) => {
      const found = diagnose(entry, options.hostname);
      if (found?.kind === 'login') onLogin();
      else if (found?.kind === 'bind') bindFailure = found.error;
      else if (found?.kind === 'dial-failure') ctx.reportDialFailure(found.reason);
    }),
  );

  try {
    // cloudflared logs "Start Websocket listener" before it binds: only a port that accepts means ready.
    await ctx.waitForPort(listen, {
      signal: ctx.signal,
      timeoutMs: READY_TIMEOUT_MS,
      until: Promise.race([child.exited, fatalDuringOpen]),
    });
  } catch (error) {
    const info = await child.stop();
    off();
    if (error instanceof ProviderError) throw error;
    if (ctx.signal.aborted) throw error;
    throw openFailure({
      error,
      info,
      loginSeen,
      bindFailure,
      listen,
      fixedPort: options.port !== undefined,
      hostname: options.hostname,
      pathId,
    });
  }
  opened = true;

  void child.exited.then(off);
  return {
    endpoint,
    pid: child.pid,
    done: child.done,
    dial: (signal) => ctx.dialTcp(listen, { signal }),
    // The dial is nothing but a connect to cloudflared's listener: the front door may connect there itself.
    connectTo: listen,
    close: async () => {
      await child.stop();
      off();
    },
  };
}
