// The expose side: a named tunnel (`TUNNEL_TOKEN=… cloudflared tunnel --no-autoupdate --metrics ADDR run`) or a
// quick tunnel (`cloudflared tunnel --no-autoupdate --metrics ADDR --url http://…`). Ready when the metrics
// server's /ready answers 200; /ready is also the health check when the public side cannot be dialled from here.
import {
  type CheckResult,
  ConfigError,
  type OpenContext,
  ProviderError,
  type Target,
  type Tunnel,
} from '@tunnelmux/core';
import { sleep } from '@tunnelmux/core/async';
import type { ChildHandle, ExitInfo } from '@tunnelmux/core/provider';
import { cloudflaredLines, type LogEntry, READY_TIMEOUT_MS, startFailure } from './log-parser';
import { type ExposeOptions, resolveTunnelToken } from './options';

/** One request to the metrics server may take this long (it is local; more means cloudflared is stuck). */
const REQUEST_TIMEOUT_MS = 2_000;
/** Pause between /ready polls while cloudflared connects. */
const POLL_MS = 150;

const BAD_TOKEN = 'Provided Tunnel token is not valid.';
/** A row of the quick-tunnel box: `|  https://retail-curves-bernard-affairs.trycloudflare.com   |`. */
const BOX_URL = /^\|\s+(https:\/\/[a-z0-9-]+(?:\.[a-z0-9-]+)*\.trycloudflare\.com)\/?\s+\|$/i;

/** What cloudflared's lines said about this run. */
export interface TunnelDiagnosis {
  badToken: boolean;
  /** The edge refused the token (`Unauthorized: …`); the text of the first such error. */
  unauthorized?: string;
  /** `Initiating shutdown`: cloudflared gave up. */
  shuttingDown: boolean;
  /** The quick tunnel URL from the log box. */
  quickUrl?: string;
}

/** Fold one parsed line into the diagnosis. */
export function diagnoseTunnelLine(entry: LogEntry, into: TunnelDiagnosis): void {
  if (entry.message.includes(BAD_TOKEN)) into.badToken = true;
  if (!into.unauthorized) {
    const text = [entry.fields.error, entry.message].find((value) => value?.includes('Unauthorized'));
    if (text) into.unauthorized = text;
  }
  if (entry.message === 'Initiating shutdown') into.shuttingDown = true;
  const box = BOX_URL.exec(entry.message);
  if (box && !into.quickUrl) into.quickUrl = box[1]!.toLowerCase();
}

function badTokenError(pathId: string, lastLines: string[]): ProviderError {
  return new ProviderError(
    `cloudflared rejected the tunnel token as malformed ("${BAD_TOKEN}"): set option "tunnelToken" (or the ` +
      'variable named by "tunnelTokenEnv") to the whole token that `cloudflared tunnel token <name>` prints or the ' +
      'dashboard shows (Zero Trust → Networks → Tunnels → Install connector)',
    { provider: 'cloudflare', pathId, fatal: true, code: 'ERR_TUNNEL_TOKEN_INVALID', lastLines },
  );
}

function unauthorizedMessage(detail: string): string {
  return (
    `Cloudflare's edge refused the tunnel token (${detail}); the tunnel was deleted or its token was rotated: ` +
    'get the current token with `cloudflared tunnel token <name>` and update option "tunnelToken" (or "tunnelTokenEnv")'
  );
}

/** Why an exit is final (retrying with the same token cannot help), or undefined. */
export function fatalExitReason(info: ExitInfo, seen: TunnelDiagnosis): string | undefined {
  if (seen.badToken || info.lastLines.some((line) => line.includes(BAD_TOKEN))) {
    return `cloudflared rejected the tunnel token as malformed ("${BAD_TOKEN}")`;
  }
  if (seen.unauthorized && info.code !== 0 && info.signal === null)
    return unauthorizedMessage(seen.unauthorized);
  return undefined;
}

/** Why open failed, from how cloudflared ended and what it printed. */
export function exposeOpenFailure(input: {
  error: unknown;
  info: ExitInfo;
  seen: TunnelDiagnosis;
  metrics: string;
  pathId: string;
}): ProviderError {
  const { info, seen, pathId } = input;
  const lines = info.lastLines;
  const exitedFirst = info.code !== null || info.signal !== null;
  if (seen.badToken || lines.some((line) => line.includes(BAD_TOKEN))) return badTokenError(pathId, lines);
  if (seen.unauthorized && exitedFirst) {
    return new ProviderError(unauthorizedMessage(seen.unauthorized), {
      provider: 'cloudflare',
      pathId,
      fatal: true,
      code: 'ERR_TUNNEL_UNAUTHORIZED',
      lastLines: lines,
    });
  }
  const notReady = `did not become ready (http://${input.metrics}/ready never answered 200)`;
  return startFailure(info, input.error, 'the tunnel was ready', notReady);
}

/** One GET to the metrics server; bounded by REQUEST_TIMEOUT_MS and `signal`. */
async function getJson(
  url: string,
  signal: AbortSignal,
): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const response = await fetch(url, {
    signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
  });
  const text = await response.text();
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      body = parsed as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

/** cloudflared's /ready as a health hint: 200 ok, 503 (no edge connection) not ok. */
export async function checkReady(metrics: string, signal: AbortSignal): Promise<CheckResult> {
  const started = performance.now();
  try {
    const { status, body } = await getJson(`http://${metrics}/ready`, signal);
    const latencyMs = performance.now() - started;
    const connections = body?.readyConnections;
    if (status === 200) return { ok: true, detail: `readyConnections: ${connections}`, latencyMs };
    return {
      ok: false,
      detail: `cloudflared has no connection to Cloudflare's edge (/ready answered ${status}, readyConnections: ${connections ?? '?'})`,
      latencyMs,
    };
  } catch (error) {
    return {
      ok: false,
      detail: `cloudflared's metrics server on ${metrics} did not answer /ready: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/** Resolve once /ready answers 200; reject on timeout, abort, or when cloudflared exits first. */
async function waitReady(
  metrics: string,
  options: { signal: AbortSignal; timeoutMs: number; child: ChildHandle },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (options.signal.aborted) throw options.signal.reason;
    if (options.child.ended) throw new Error('cloudflared ended before /ready answered 200');
    const result = await checkReady(metrics, options.signal);
    if (result.ok) return;
    last = result.detail ?? last;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms (${last})`);
    // Pause between polls, cut short by an abort or by cloudflared's exit.
    await Promise.race([sleep(POLL_MS, options.signal), options.child.exited]);
  }
}

/** `host:port` (IPv6 in brackets) as a Target. */
export function parseAddress(value: string): Target {
  const colon = value.lastIndexOf(':');
  return { host: value.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(value.slice(colon + 1)) };
}

/** The secret part of a token (`s` of its base64 JSON), to redact it too; undefined when it does not decode. */
function tokenSecret(token: string): string | undefined {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { s?: unknown };
    return typeof decoded.s === 'string' && decoded.s.length >= 8 ? decoded.s : undefined;
  } catch {
    return undefined;
  }
}

/** Open an expose path; resolves once cloudflared's /ready answers 200 (and a quick tunnel's URL is known). */
export async function openExpose(options: ExposeOptions, ctx: OpenContext): Promise<Tunnel> {
  const { pathId } = ctx;
  const command = await ctx.findBinary(options.bin);
  const quick = options.quickTunnel === true;
  const env: NodeJS.ProcessEnv = {};
  if (!quick) {
    const { token, missing } = resolveTunnelToken(options, ctx.env);
    if (missing || !token) {
      throw ConfigError.invalid(
        'option "tunnelTokenEnv"',
        missing,
        'the name of a set, non-empty environment variable',
        { hint: `set ${missing} in the environment of tunnelmux` },
      );
    }
    ctx.secret(token);
    const secret = tokenSecret(token);
    if (secret) ctx.secret(secret);
    // The token reaches cloudflared only as TUNNEL_TOKEN (--token would show in ps). cloudflared logs every
    // other variable whose name contains TUNNEL_ in clear, so the variable we read it from is not passed on.
    env.TUNNEL_TOKEN = token;
    if (options.tunnelTokenEnv && options.tunnelTokenEnv !== 'TUNNEL_TOKEN')
      env[options.tunnelTokenEnv] = undefined;
  }

  const metrics = `127.0.0.1:${await ctx.freePort('127.0.0.1')}`;
  const args = ['tunnel', '--no-autoupdate', '--metrics', metrics];
  if (options.logLevel) args.push('--loglevel', options.logLevel);
  const service = ctx.target.host.includes(':') ? `[${ctx.target.host}]` : ctx.target.host;
  if (quick) args.push('--url', `http://${service}:${ctx.target.port}`);
  else args.push('run');
  const seen: TunnelDiagnosis = { badToken: false, shuttingDown: false };
  const child = ctx.spawn(command, args, {
    env,
    signal: ctx.signal,
    explainExit: (info) => {
      const fatal = fatalExitReason(info, seen);
      return fatal ? { reason: fatal, fatal: true } : undefined;
    },
  });
  const off = ctx.forwardLines(
    child,
    cloudflaredLines((entry) => diagnoseTunnelLine(entry, seen)),
  );

  let publicUrl: string | undefined;
  try {
    await waitReady(metrics, {
      signal: ctx.signal,
      timeoutMs: READY_TIMEOUT_MS,
      child,
    });
    if (quick) {
      // /quicktunnel holds the hostname without a scheme; the log box is the fallback (older builds).
      const answer = await getJson(`http://${metrics}/quicktunnel`, ctx.signal).catch(() => undefined);
      const hostname = answer?.body?.hostname;
      publicUrl =
        typeof hostname === 'string' && hostname !== '' ? `https://${hostname.toLowerCase()}` : seen.quickUrl;
      if (!publicUrl)
        throw new Error('cloudflared did not tell the quick tunnel URL (/quicktunnel or its log box)');
    }
  } catch (error) {
    const info = await child.stop();
    off();
    if (ctx.signal.aborted) throw error;
    throw exposeOpenFailure({ error, info, seen, metrics, pathId });
  }

  if (!quick) {
    if (options.publicHostname) publicUrl = `https://${options.publicHostname}`;
    else if (options.publicAddress) publicUrl = `tcp://${options.publicAddress}`;
  }
  if (publicUrl) ctx.setPublicUrl(publicUrl);

  const dialable = options.publicAddress ? parseAddress(options.publicAddress) : undefined;
  void child.exited.then(off);
  return {
    endpoint: options.publicAddress ?? publicUrl ?? `http://${metrics}/ready`,
    publicUrl,
    pid: child.pid,
    health: dialable ? 'dial' : 'check',
    done: child.done,
    check: (signal) => checkReady(metrics, signal),
    dial: async (signal) => {
      if (dialable) return ctx.dialTcp(dialable, { signal });
      throw new ProviderError(
        'this expose path cannot be dialled from this machine (clients reach a named tunnel through Cloudflare, ' +
          'e.g. `cloudflared access tcp`); its health is cloudflared\'s /ready. Set option "publicAddress" to a ' +
          'host:port that reaches the published service from here to probe it end to end',
      );
    },
    close: async () => {
      await child.stop();
      off();
    },
  };
}
