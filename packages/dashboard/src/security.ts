import net from 'node:net';
import os from 'node:os';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { DashboardError, errorResponse } from './errors';
import { sameToken } from './token';

/** What the middleware leaves for later ones: whether the request came with a bearer token. */
export type AppEnv = { Variables: { bearer?: boolean } };

/** `host:port` as a browser writes it in `Host` (IPv6 in brackets), lower case. */
export function hostPort(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`.toLowerCase();
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/**
 * The `Host` values this dashboard answers to. Loopback names always; when bound beyond loopback, this machine's
 * own addresses and name too; plus any the user lists. Anything else is a DNS-rebinding attempt or a mistake.
 */
export function allowedHosts(
  bound: { host: string; port: number },
  extra: readonly string[] = [],
): Set<string> {
  const { port } = bound;
  const names = ['127.0.0.1', 'localhost', '::1', bound.host];
  if (bound.host === '0.0.0.0' || bound.host === '::') {
    names.push(os.hostname());
    for (const addresses of Object.values(os.networkInterfaces()))
      for (const address of addresses ?? []) names.push(address.address.replace(/%.*$/, ''));
  }
  const hosts = new Set(names.map((name) => hostPort(name, port)));
  for (const entry of extra) hosts.add(/:\d+$/.test(entry) ? entry.toLowerCase() : hostPort(entry, port));
  return hosts;
}

/** Refuse a request whose `Host` is not on the list: a rebound DNS name must not reach the API. */
export function checkHost(allowed: () => Set<string>): MiddlewareHandler {
  return async (c, next) => {
    const host = (c.req.header('host') ?? '').toLowerCase();
    if (!allowed().has(host)) {
      return errorResponse(
        c,
        new DashboardError(
          `[tunnelmux] the dashboard does not answer to Host ${JSON.stringify(host.slice(0, 100))}; ` +
            `it answers to ${[...allowed()].slice(0, 4).join(', ')}: open it by the address tunnelmux printed ` +
            '(`tunnelmux dashboard`), or list the name in dashboard.allowedHosts',
          'ERR_HOST',
        ),
      );
    }
    await next();
  };
}

/** The cookie's name carries the port: browsers share cookies between every port of 127.0.0.1. */
export function cookieName(port: number): string {
  return `tunnelmux_dashboard_${port}`;
}

/**
 * Every request must carry the token: `Authorization: Bearer <token>`, or the cookie the page got. The page
 * itself may be opened once with `?token=`, which sets the cookie (HttpOnly, SameSite=Strict); the page's script
 * then drops the token from the address bar.
 */
export function requireToken(token: string, cookie: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const fromQuery = c.req.path === '/' ? c.req.query('token') : undefined;
    if (fromQuery !== undefined) {
      if (!sameToken(fromQuery, token)) return refuse(c, 'the token in the address is not this instance’s');
      setCookie(c, cookie, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      await next();
      return;
    }
    const header = c.req.header('authorization');
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match || !sameToken(match[1], token))
        return refuse(c, 'the Authorization header does not carry this instance’s token');
      c.set('bearer', true);
      await next();
      return;
    }
    if (!sameToken(getCookie(c, cookie), token)) {
      return refuse(c, 'no token came with the request');
    }
    await next();
  };
}

function refuse(c: Context, why: string): Response {
  const error = new DashboardError(
    `[tunnelmux] unauthorized: ${why}; open the address \`tunnelmux up\` printed (or run \`tunnelmux dashboard\`), ` +
      'or send Authorization: Bearer <token> (the token is in the 0600 file next to the control socket)',
    'ERR_UNAUTHORIZED',
  );
  if (c.req.path === '/' || c.req.path.startsWith('/assets/')) {
    c.header('WWW-Authenticate', 'Bearer realm="tunnelmux"');
    return c.html(refusedPage(error.message), 401);
  }
  return errorResponse(c, error);
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A state-changing request must come from this dashboard's own origin. A browser always sends `Origin` on such
 * requests, so one without it is accepted only with a bearer token (a script, which a web page cannot forge).
 */
export function checkOrigin(allowed: () => Set<string>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!STATE_CHANGING.has(c.req.method)) return next();
    const origin = c.req.header('origin');
    const site = c.req.header('sec-fetch-site');
    const host = (c.req.header('host') ?? '').toLowerCase();
    const bearer = c.get('bearer') === true;
    let why: string | undefined;
    if (origin === undefined) {
      if (!bearer) why = 'it has no Origin header and no bearer token';
    } else if (origin.toLowerCase() !== `http://${host}` || !allowed().has(host)) {
      why = `it comes from ${JSON.stringify(origin.slice(0, 100))}, not from http://${host}`;
    } else if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      why = `the browser says it is ${site}`;
    }
    if (why) {
      return errorResponse(
        c,
        new DashboardError(
          `[tunnelmux] refused a ${c.req.method} from another site: ${why}; ` +
            'change things from the dashboard page itself, or with `tunnelmux` commands',
          'ERR_ORIGIN',
        ),
      );
    }
    await next();
  };
}

/** Headers on every answer: no framing, no sniffing, nothing loaded from elsewhere, no token in a Referer. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    c.header('X-Frame-Options', 'DENY');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cross-Origin-Resource-Policy', 'same-origin');
    c.header('Cache-Control', 'no-store');
  };
}

function refusedPage(message: string): string {
  const text = message.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>tunnelmux: sign in</title><h1>tunnelmux dashboard</h1><p>${text}</p>`;
}
