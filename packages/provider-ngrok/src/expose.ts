// Expose mode: run `ngrok tcp <local port>` here and publish the local service on an ngrok TCP address.
import type { Duplex } from 'node:stream';
import { ConfigError, type OpenContext, ProviderError, type Target, type Tunnel } from '@tunnelmux/core';
import type { ChildLine, ExitInfo } from '@tunnelmux/core/provider';
import { describeDialError } from './access';
import { type AgentFailure, agentEvent, maskTokens, parseAgentFailure, parseAgentRecord } from './agent-log';
import { describeNgrokCode, findNgrokCode } from './errors';
import { formatAddress, type NgrokOptions, parseTcpAddress, type TcpAddress } from './options';

/** The variable the agent itself reads. */
const AGENT_TOKEN_VAR = 'NGROK_AUTHTOKEN';
/** How long the agent gets to finish printing (and exit) after it reported an ERR_NGROK code. */
const FAILURE_GRACE_MS = 2000;
const DEFAULT_START_TIMEOUT_MS = 20_000;

/** `ngrok tcp 22` for loopback services (the agent dials localhost), `ngrok tcp host:22` otherwise. */
export function localAddressArg(target: Target): string {
  if (target.host === '127.0.0.1' || target.host === 'localhost') return String(target.port);
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** The agent API base from `starting web service` (`addr`): a wildcard listen address is dialled on loopback. */
export function agentApiBase(addr: string): string | undefined {
  const match = /^(?:https?:\/\/)?(.*):(\d{1,5})$/.exec(addr.trim());
  if (!match) return undefined;
  let host = match[1]!;
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '[::]' || host === '::') host = '[::1]';
  return `http://${host}:${match[2]}`;
}

/** The argv of `ngrok tcp`: never a secret in it. */
export function exposeArgs(options: NgrokOptions, target: Target): string[] {
  const args = ['tcp', localAddressArg(target), '--log', 'stdout', '--log-format', 'json'];
  if (options.url) args.push('--url', options.url);
  if (options.metadata) args.push('--metadata', options.metadata);
  for (const file of options.config ?? []) args.push('--config', file);
  return args;
}

const LEVELS: Record<string, 'debug' | 'info' | 'warn' | 'error'> = {
  dbug: 'debug',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  eror: 'error',
  error: 'error',
  crit: 'error',
};

/** Pass one agent line on to the path's log, at the record's level; echoed authtokens masked. */
function logLine(ctx: OpenContext, line: ChildLine): void {
  const record = parseAgentRecord(line.text);
  if (!record) {
    const text = line.text.trim();
    if (text) ctx.log[line.stream === 'stderr' ? 'warn' : 'info'](`ngrok: ${maskTokens(text)}`);
    return;
  }
  const { t: _time, lvl, msg, ...fields } = record;
  if (fields.err) fields.err = maskTokens(fields.err);
  // One `join connections` per proxied connection, probes included: detail, not news.
  const level = msg === 'join connections' ? 'debug' : (LEVELS[lvl ?? ''] ?? 'info');
  ctx.log[level](`ngrok: ${msg ?? line.text}`, fields);
}

/** The authtoken for the agent's environment, or undefined to leave it to the agent's own config file. */
function readAuthtoken(options: NgrokOptions, ctx: OpenContext): string | undefined {
  const name = options.authtokenEnv ?? AGENT_TOKEN_VAR;
  const token = ctx.env[name]?.trim();
  if (token) {
    ctx.secret(token);
    return token;
  }
  if (options.authtokenEnv !== undefined && options.authtokenEnv !== AGENT_TOKEN_VAR) {
    throw new ConfigError(
      `environment variable ${name} (option "authtokenEnv") is not set; put the ngrok authtoken from https://dashboard.ngrok.com/get-started/your-authtoken in it`,
      { field: 'authtokenEnv', value: name },
    );
  }
  ctx.log.info(
    `${AGENT_TOKEN_VAR} is not set; the agent uses the authtoken of its own config file (ngrok config add-authtoken), if any`,
  );
  return undefined;
}

function describeExit(info: Pick<ExitInfo, 'code' | 'signal' | 'reason'>): string {
  if (info.signal) return `signal ${info.signal}`;
  if (info.code === null && info.reason) return info.reason;
  return `exit code ${info.code ?? 'unknown'}`;
}

/** Lines safe to carry in errors and exit info: echoed authtokens masked. */
function safeLines(lines: readonly string[]): string[] {
  return lines.map(maskTokens);
}

/** `; last lines: a | b | c` from what the agent printed (tokens masked), or nothing. */
function lastWords(lines: readonly string[]): string {
  const last = lines.filter((line) => line.trim() !== '').slice(-3);
  return last.length ? `; last lines: ${safeLines(last).join(' | ')}` : '';
}

/** The fix names the variable the user actually sets. */
function withTokenVar(message: string, tokenVar: string): string {
  return message.replace(`set ${AGENT_TOKEN_VAR} `, `set ${tokenVar} `);
}

/** The failure error `open` throws, fatal unless the code says retrying helps. */
function failureError(failure: AgentFailure, lines: readonly string[], tokenVar: string): ProviderError {
  return new ProviderError(withTokenVar(failure.message, tokenVar), {
    fatal: failure.fatal,
    lastLines: safeLines(lines),
  });
}

/** Open an expose path: start the agent, wait for its `started tunnel` record, announce the public address. */
export async function openExpose(options: NgrokOptions, ctx: OpenContext): Promise<Tunnel> {
  const command = await ctx.findBinary(options.bin);
  const token = readAuthtoken(options, ctx);
  const tokenVar = options.authtokenEnv ?? AGENT_TOKEN_VAR;
  const startTimeout = options.startTimeout ?? DEFAULT_START_TIMEOUT_MS;
  const args = exposeArgs(options, ctx.target);
  ctx.log.info(`starting ${command} ${args.join(' ')}`);
  const child = ctx.spawn(command, args, {
    // Only the child gets the token, and only in its environment.
    env: token ? { [AGENT_TOKEN_VAR]: token } : {},
    signal: ctx.signal,
    // Read at exit, without side effects: open's own wait may still be reading the same exit.
    explainExit: (info) => {
      const found = closing ? undefined : (failure ?? parseAgentFailure(info.lastLines));
      const lastLines = safeLines(info.lastLines);
      if (found) return { lastLines, reason: withTokenVar(found.message, tokenVar), fatal: found.fatal };
      return { lastLines, reason: closing ? 'closed' : `ngrok exited (${describeExit(info)})` };
    },
  });

  let webBase: string | undefined;
  let current: TcpAddress | undefined;
  let publicUrl: string | undefined;
  let sessionError: string | undefined;
  let failure: AgentFailure | undefined;
  let closing = false;
  let onUrl: (url: string) => void = () => undefined;
  let onFailure: (failure: AgentFailure) => void = () => undefined;
  let failureTimer: NodeJS.Timeout | undefined;

  // An ERR_NGROK code that retrying cannot fix: let the agent finish its records and ERROR: block (it exits on
  // its own), then read the whole failure from what it printed.
  const fail = (codeLine: string) => {
    if (failure || failureTimer) return;
    const settle = () => {
      clearTimeout(failureTimer);
      if (failure) return;
      failure = parseAgentFailure(child.lastLines()) ?? parseAgentFailure([codeLine])!;
      onFailure(failure);
    };
    failureTimer = setTimeout(settle, FAILURE_GRACE_MS);
    void child.exited.then(settle);
  };

  child.onLine((line) => {
    logLine(ctx, line);
    const code = findNgrokCode(line.text);
    if (code !== undefined && describeNgrokCode(code).fatal) fail(line.text);
    const event = agentEvent(line.text);
    if (!event) return;
    if (event.kind === 'web') webBase = agentApiBase(event.addr);
    else if (event.kind === 'session') sessionError = undefined;
    else if (event.kind === 'tunnel') onUrl(event.url);
    else if (event.kind === 'error' && event.code === undefined && /session/.test(event.msg)) {
      // Network trouble: the agent reconnects forever by itself; the probes say whether the path is down.
      sessionError = `${event.msg}: ${maskTokens(event.err)}`;
    }
  });

  // Ready: the `started tunnel` record; or a fatal ERR_NGROK; or the agent exits; or the start timeout.
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new ProviderError(
            `ngrok printed no "started tunnel" record within ${startTimeout} ms (option "startTimeout")${lastWords(child.lastLines())}`,
            { lastLines: safeLines(child.lastLines()) },
          ),
        );
      }, startTimeout);
      const done = () => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(ctx.signal.reason ?? new Error('aborted'));
      };
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
      onUrl = (value) => {
        done();
        resolve(value);
      };
      onFailure = (found) => {
        done();
        reject(failureError(found, child.lastLines(), tokenVar));
      };
      void child.exited.then((info) => {
        // After a fatal code, fail()'s own wait reports it (with the whole ERROR: block) through onFailure.
        if (failureTimer) return;
        done();
        const found = parseAgentFailure(info.lastLines);
        reject(
          found
            ? failureError(found, info.lastLines, tokenVar)
            : new ProviderError(
                `ngrok exited (${describeExit(info)}) before it started the tunnel${lastWords(info.lastLines)}`,
                {
                  lastLines: safeLines(info.lastLines),
                },
              ),
        );
      });
    });
    const address = parseTcpAddress(url);
    if (!address) {
      throw new ProviderError(
        `ngrok started a tunnel at ${JSON.stringify(url)}, not a tcp://host:port address; check the --config files (option "config")`,
        { fatal: true, lastLines: safeLines(child.lastLines()) },
      );
    }
    current = address;
    publicUrl = url;
  } catch (error) {
    clearTimeout(failureTimer);
    await child.stop();
    throw error;
  }

  ctx.setPublicUrl(publicUrl);
  ctx.log.info(`ngrok publishes ${formatAddress(ctx.target)} at ${publicUrl}`);
  onUrl = (url) => {
    // The agent re-announces its tunnel after a reconnect; a new address is news.
    const address = parseTcpAddress(url);
    if (!address || url === publicUrl) return;
    current = address;
    publicUrl = url;
    ctx.setPublicUrl(url);
    ctx.log.info(`ngrok moved the public address to ${url}`);
  };
  onFailure = (found) => {
    if (closing) return;
    ctx.log.error(withTokenVar(found.message, tokenVar));
    void child.stop();
  };

  void child.exited.then(() => clearTimeout(failureTimer));
  const tunnel: Tunnel = {
    get endpoint() {
      return current ? formatAddress(current) : '';
    },
    get publicUrl() {
      return publicUrl;
    },
    pid: child.pid,
    done: child.done,
    async dial(signal?: AbortSignal): Promise<Duplex> {
      const target = current!;
      try {
        return await ctx.dialTcp(target, { signal, timeoutMs: options.dialTimeout });
      } catch (error) {
        if (signal?.aborted) throw error;
        const reason = `${publicUrl}: ${describeDialError(error)}`;
        ctx.reportDialFailure(reason);
        throw new ProviderError(
          `could not connect to ${reason}${sessionError ? ` (the agent says: ${sessionError})` : ''}`,
          { cause: error },
        );
      }
    },
    async check(signal: AbortSignal) {
      const started = Date.now();
      const latency = () => Date.now() - started;
      if (sessionError) return { ok: false, detail: `ngrok agent: ${sessionError}`, latencyMs: latency() };
      if (!webBase) {
        return {
          ok: true,
          detail: 'the agent API is off (web_addr: false); no hint beyond the log',
          latencyMs: latency(),
        };
      }
      // The agent API wants a localhost-like Host header; webBase is always a loopback address.
      const response = await fetch(`${webBase}/api/tunnels`, { signal });
      if (!response.ok) {
        return {
          ok: false,
          detail: `GET ${webBase}/api/tunnels answered ${response.status}`,
          latencyMs: latency(),
        };
      }
      const body = (await response.json()) as {
        tunnels?: Array<{ public_url?: string; metrics?: { conns?: { count?: number } } }>;
      };
      const found = body.tunnels?.find((entry) => entry.public_url === publicUrl);
      return found
        ? {
            ok: true,
            detail: `agent API lists ${publicUrl} (${found.metrics?.conns?.count ?? 0} connections so far)`,
            latencyMs: latency(),
          }
        : {
            ok: false,
            detail: `agent API does not list ${publicUrl} (${body.tunnels?.length ?? 0} tunnels)`,
            latencyMs: latency(),
          };
    },
    async close() {
      closing = true;
      clearTimeout(failureTimer);
      await child.stop();
    },
  };
  return tunnel;
}
