import net from 'node:net';
import { shown } from '../control/shown';
import { usageError } from './errors';

/** `host:port`, `[v6]:port` or a bare port (host 127.0.0.1). */
export function parseAddress(value: string | number, what: string): { host: string; port: number } {
  const text = String(value).trim();
  const match =
    /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text) ?? /^()(\d+)$/.exec(text);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw usageError(
      // Clipped: a pasted megabyte must not come back as a megabyte of error.
      `[tunnelmux] ${what} must be host:port such as 127.0.0.1:2222 (or a port number), got ${shown(text)}`,
    );
  }
  return { host: match[1] || '127.0.0.1', port };
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

export function formatAddress(address: { host: string; port: number }): string {
  return net.isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
