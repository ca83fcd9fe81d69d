// Access mode: a path to a TCP address an ngrok agent publishes on the far side. No local process.
import type { Duplex } from 'node:stream';
import { ConfigError, type OpenContext, ProviderError, type Tunnel, type TunnelEnd } from '@tunnelmux/core';
import { abortable } from '@tunnelmux/core/async';
import { type Endpoint, type LookupResult, listEndpoints, selectEndpoint } from './endpoint-lookup';
import {
  describeSelector,
  formatAddress,
  type NgrokOptions,
  parseTcpAddress,
  type Selector,
  selectorOf,
  type TcpAddress,
} from './options';

/** What one lookup found: the selected endpoint, or that none is online. */
export type Resolution = { endpoint: Endpoint } | { gone: true; total: number };

/** Looks the endpoint up, sharing one request among concurrent callers and at most once per `minIntervalMs`. */
export class EndpointResolver {
  private inflight?: Promise<Resolution>;
  private last?: { at: number; result: Resolution };

  constructor(
    private readonly lookup: () => Promise<LookupResult>,
    private readonly selector: Selector,
    private readonly minIntervalMs: number,
    private readonly onTruncated: () => void = () => undefined,
  ) {}

  /** A fresh answer, or the last one when it is younger than the minimum interval. */
  resolve(): Promise<Resolution> {
    if (this.inflight) return this.inflight;
    if (this.last && Date.now() - this.last.at < this.minIntervalMs) return Promise.resolve(this.last.result);
    this.inflight = (async () => {
      try {
        const found = await this.lookup();
        if (found.truncated) this.onTruncated();
        const endpoint = selectEndpoint(found.endpoints, this.selector);
        const result: Resolution = endpoint ? { endpoint } : { gone: true, total: found.endpoints.length };
        this.last = { at: Date.now(), result };
        return result;
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}

function sameAddress(a: TcpAddress, b: TcpAddress): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port;
}

/** `connection refused`, `timed out`, or the error's own words. */
export function describeDialError(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code) return `${code}: ${(error as Error).message}`;
  return error instanceof Error ? error.message : String(error);
}

function isRefused(error: unknown): boolean {
  return (error as { code?: string } | undefined)?.code === 'ECONNREFUSED';
}

/** Read the API key from the environment variable the options name; a missing key is a config error. */
function readApiKey(options: NgrokOptions, ctx: OpenContext): string {
  const key = ctx.env[options.apiKeyEnv]?.trim();
  if (!key) {
    throw new ConfigError(
      `environment variable ${options.apiKeyEnv} is not set; looking up an endpoint by ${selectorOf(options)?.by} needs an ngrok API key (https://dashboard.ngrok.com/api-keys) in ${options.apiKeyEnv}, or use option "address" with a fixed tcp://host:port`,
      { field: 'apiKeyEnv', value: options.apiKeyEnv },
    );
  }
  ctx.secret(key);
  return key;
}

/** Open an access path: find the address, check that it answers, and return a Tunnel that follows it. */
export async function openAccess(options: NgrokOptions, ctx: OpenContext): Promise<Tunnel> {
  const selector = selectorOf(options);
  const life = new AbortController();
  const notes: string[] = [];
  const note = (line: string) => {
    notes.push(`${new Date().toISOString()} ${line}`);
    if (notes.length > 20) notes.shift();
  };

  let resolver: EndpointResolver | undefined;
  let current: TcpAddress;
  let endpointId: string | undefined;
  if (!selector) {
    current = parseTcpAddress(options.address!)!;
  } else {
    const apiKey = readApiKey(options, ctx);
    const lookup = () =>
      listEndpoints({
        apiUrl: options.apiUrl,
        apiKey,
        apiKeyEnv: options.apiKeyEnv,
        signal: AbortSignal.any([ctx.signal, life.signal]),
        timeoutMs: options.apiTimeout,
        maxPages: options.maxPages,
      });
    resolver = new EndpointResolver(lookup, selector, options.resolveInterval, () =>
      ctx.log.warn(
        `the ngrok API listed more than ${options.maxPages} pages of endpoints; looked at the first ones only`,
      ),
    );
    const first = await resolver.resolve();
    if ('gone' in first) {
      throw new ProviderError(
        `no online ngrok TCP endpoint has ${describeSelector(selector)} (${first.total} TCP endpoints online); is the far ngrok agent running?`,
      );
    }
    current = first.endpoint;
    endpointId = first.endpoint.id;
    ctx.log.info(
      `ngrok endpoint ${describeSelector(selector)} is ${first.endpoint.url} (${first.endpoint.id})`,
    );
    note(`lookup ${describeSelector(selector)}: ${first.endpoint.url} (${first.endpoint.id})`);
  }

  // Ready means the public address accepts a connection now, not merely that it is known.
  try {
    const socket = await ctx.dialTcp(current, { signal: ctx.signal, timeoutMs: options.dialTimeout });
    socket.destroy();
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw new ProviderError(
      `tcp://${formatAddress(current)} did not accept a connection (${describeDialError(error)})`,
      {
        cause: error,
        lastLines: [...notes],
      },
    );
  }

  let settle!: (end: TunnelEnd) => void;
  const done = new Promise<TunnelEnd>((resolve) => {
    settle = resolve;
  });
  let over = false;
  let timer: NodeJS.Timeout | undefined;
  const end = (reason: string) => {
    if (over) return;
    over = true;
    if (timer) clearInterval(timer);
    life.abort(new ProviderError(`path ${reason}`));
    note(reason);
    settle({ reason, lastLines: [...notes] });
  };
  const gone = (why: string) => {
    ctx.log.warn(why);
    end(why);
  };

  /** Move to a newly found address; true when it changed. */
  const follow = (endpoint: Endpoint, why: string): boolean => {
    if (sameAddress(endpoint, current) && endpoint.id === endpointId) return false;
    const moved = !sameAddress(endpoint, current);
    if (moved)
      ctx.log.info(`ngrok endpoint ${describeSelector(selector!)} moved to ${endpoint.url} (${why})`);
    note(`lookup ${describeSelector(selector!)}: ${endpoint.url} (${endpoint.id})`);
    current = { host: endpoint.host, port: endpoint.port };
    endpointId = endpoint.id;
    return moved;
  };

  const goneMessage = () =>
    `ngrok endpoint ${describeSelector(selector!)} is no longer online (the far agent stopped or restarted without it)`;

  const reresolve = async (): Promise<Endpoint | undefined> => {
    try {
      const result = await resolver!.resolve();
      if ('gone' in result) {
        gone(goneMessage());
        return undefined;
      }
      return result.endpoint;
    } catch (error) {
      if (over) return undefined;
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof ProviderError && error.fatal) {
        ctx.log.error(message);
        end(message);
      } else {
        ctx.log.warn(`could not look the ngrok endpoint up again: ${message}`);
      }
      return undefined;
    }
  };

  if (resolver && options.refreshInterval > 0) {
    // A free address changes whenever the far agent restarts; notice before traffic does.
    timer = setInterval(() => {
      void reresolve().then((endpoint) => {
        if (endpoint && !over) follow(endpoint, 'periodic lookup');
      });
    }, options.refreshInterval);
    timer.unref();
  }

  const connect = (address: TcpAddress, signal?: AbortSignal) =>
    ctx.dialTcp(address, {
      signal: signal ? AbortSignal.any([signal, life.signal]) : life.signal,
      timeoutMs: options.dialTimeout,
    });

  const tunnel: Tunnel = {
    get endpoint() {
      return formatAddress(current);
    },
    done,
    async dial(signal?: AbortSignal): Promise<Duplex> {
      if (over) throw new ProviderError(`the path is closed (${notes.at(-1) ?? 'closed'})`);
      const tried = current;
      try {
        return await connect(tried, signal);
      } catch (error) {
        if (signal?.aborted || over) throw error;
        const reason = `tcp://${formatAddress(tried)}: ${describeDialError(error)}`;
        ctx.reportDialFailure(reason);
        if (!resolver) {
          // A fixed address that refuses has no agent behind it: the path is down until it comes back.
          if (isRefused(error))
            gone(`tcp://${formatAddress(tried)} refused the connection; the far ngrok agent is gone`);
          throw new ProviderError(`could not connect to ${reason}`, { cause: error });
        }
        const endpoint = await reresolve();
        if (!endpoint || !follow(endpoint, 'after a failed dial')) {
          throw new ProviderError(`could not connect to ${reason}`, { cause: error });
        }
        // The address moved: retry once at the new one.
        try {
          return await connect(current, signal);
        } catch (retryError) {
          if (!signal?.aborted && !over) {
            ctx.reportDialFailure(`tcp://${formatAddress(current)}: ${describeDialError(retryError)}`);
          }
          throw new ProviderError(
            `could not connect to ${reason}, nor to the new address tcp://${formatAddress(current)} (${describeDialError(retryError)})`,
            { cause: retryError },
          );
        }
      }
    },
    async close() {
      end('closed');
    },
  };
  if (resolver) {
    tunnel.check = async (signal: AbortSignal) => {
      const started = Date.now();
      const result = await abortable(resolver.resolve(), signal);
      if ('gone' in result) {
        gone(goneMessage());
        return { ok: false, detail: goneMessage(), latencyMs: Date.now() - started };
      }
      follow(result.endpoint, 'lookup by check');
      return {
        ok: true,
        detail: `ngrok API lists ${result.endpoint.url} (${result.endpoint.id}) for ${describeSelector(selector!)}`,
        latencyMs: Date.now() - started,
      };
    };
  }
  return tunnel;
}
