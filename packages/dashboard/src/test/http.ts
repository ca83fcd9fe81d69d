import http from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One raw HTTP request with exactly these headers (fetch would drop or fix `Host` and `Origin`). */
export function raw(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const target = new URL(options.path ?? '/', url);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        headers: options.headers,
        setHost: options.headers?.host === undefined,
        timeout: 10_000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer from ${target} within 10 s`)));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** An open event stream: the messages so far, and a bounded wait for more. */
export interface EventStream {
  status: number;
  messages: EventSourceMessage[];
  /** Resolve once `check(messages)` holds (bounded). */
  until(check: (messages: EventSourceMessage[]) => boolean, what: string, ms?: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Open `GET /api/v1/events` (with `Last-Event-ID` when given) and parse it as EventSource does. */
export async function openEvents(
  url: string,
  token: string,
  options: { lastEventId?: string; query?: string } = {},
): Promise<EventStream> {
  const abort = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const response = await fetch(new URL(`/api/v1/events${options.query ?? ''}`, url), {
    headers,
    signal: abort.signal,
  });
  const messages: EventSourceMessage[] = [];
  const wakers = new Set<() => void>();
  const parser = createParser({
    onEvent: (message) => {
      messages.push(message);
      for (const wake of wakers) wake();
    },
  });
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body)
        parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch {
      // Closed by this side.
    }
    for (const wake of wakers) wake();
  })();
  let done = false;
  void ended.then(() => {
    done = true;
  });
  return {
    status: response.status,
    messages,
    ended,
    close: () => abort.abort(),
    until: (check, what, ms = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const test = () => {
          if (check(messages)) {
            finish();
            resolve();
          } else if (done) {
            finish();
            reject(new Error(`the stream ended before ${what}; got ${JSON.stringify(messages.slice(-5))}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(`${what} did not happen within ${ms} ms; got ${JSON.stringify(messages.slice(-5))}`),
          );
        }, ms);
        const finish = () => {
          clearTimeout(timer);
          wakers.delete(test);
        };
        wakers.add(test);
        test();
      }),
  };
}
