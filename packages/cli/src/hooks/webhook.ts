import { sleep } from '@tunnelmux/core/async';
import { VERSION } from '../version';
import { scrub } from './redact';

/** One webhook delivery: the URL, headers and JSON body, with its limits. */
export interface WebhookPost {
  url: string;
  headers?: Record<string, string>;
  body: string;
  timeoutMs: number;
  retries: number;
  /** Base of the exponential backoff between attempts (default 1000; doubled each time, full jitter, 30s cap). */
  backoffMs?: number;
  signal: AbortSignal;
  /** Masked in every reason this returns. */
  secrets: readonly string[];
  random?: () => number;
}

const BACKOFF_CAP_MS = 30_000;

/**
 * POST the event, retrying network errors, timeouts, 408, 429 and 5xx up to `retries` times with backoff.
 * Resolves (never rejects) with why it failed, already redacted, or undefined once delivered.
 */
export async function postWebhook(post: WebhookPost): Promise<string | undefined> {
  const random = post.random ?? Math.random;
  let reason = 'not attempted';
  const attempts = post.retries + 1;
  let made = 0;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (post.signal.aborted) return scrub(`${reason}; gave up: tunnelmux is stopping`, post.secrets);
    made = attempt;
    const outcome = await attemptOnce(post);
    if (outcome.ok) return undefined;
    reason = outcome.reason;
    if (!outcome.retry) break;
    if (attempt < attempts) {
      const base = (post.backoffMs ?? 1000) * 2 ** (attempt - 1);
      const wait = Math.floor(random() * Math.min(base, BACKOFF_CAP_MS));
      await sleep(wait, post.signal);
    }
  }
  return scrub(`${reason} (${made} attempt${made === 1 ? '' : 's'})`, post.secrets);
}

/** fetch refuses a URL with user:password@, so the userinfo becomes Basic auth (unless headers set their own). */
export function splitUserinfo(raw: string): { url: string; authorization?: string } {
  const url = new URL(raw);
  if (!url.username && !url.password) return { url: raw };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.toString(), authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

async function attemptOnce(
  post: WebhookPost,
): Promise<{ ok: true } | { ok: false; retry: boolean; reason: string }> {
  const timeout = AbortSignal.timeout(post.timeoutMs);
  try {
    const { url, authorization } = splitUserinfo(post.url);
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': `tunnelmux/${VERSION}`,
        ...(authorization && !hasHeader(post.headers, 'authorization') ? { authorization } : {}),
        ...post.headers,
      },
      body: post.body,
      // A redirect could carry the body (and headers) to a host the user never named.
      redirect: 'error',
      signal: AbortSignal.any([timeout, post.signal]),
    });
    // The body is not read; cancelling it frees the connection.
    await response.body?.cancel().catch(() => undefined);
    if (response.ok) return { ok: true };
    const status = response.status;
    return {
      ok: false,
      retry: status === 408 || status === 429 || status >= 500,
      reason: `answered HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}`,
    };
  } catch (error) {
    if (timeout.aborted) return { ok: false, retry: true, reason: `no answer within ${post.timeoutMs}ms` };
    if (post.signal.aborted) return { ok: false, retry: false, reason: 'aborted: tunnelmux is stopping' };
    const why = describeFetchError(error);
    // A redirect answers the same way every time: asking again cannot help.
    if (/redirect/i.test(why))
      return { ok: false, retry: false, reason: `answered with a redirect, which is refused (${why})` };
    return { ok: false, retry: true, reason: `could not be reached: ${why}` };
  }
}

function hasHeader(headers: Record<string, string> | undefined, name: string): boolean {
  return Object.keys(headers ?? {}).some((key) => key.toLowerCase() === name);
}

// undici wraps the useful part (ECONNREFUSED 127.0.0.1:9) in `cause`.
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
