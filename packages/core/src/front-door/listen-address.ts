import net from 'node:net';
import { ConfigError } from '../errors';

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '::ffff:127.0.0.1') return true;
  return net.isIPv4(host) && host.startsWith('127.');
}

/** Refuse non-loopback addresses unless `allowAllInterfaces` says the user meant it. */
export function checkListenHost(host: string, allowAllInterfaces: boolean): void {
  if (isLoopback(host) || allowAllInterfaces) return;
  throw ConfigError.invalid('front door listen host', host, 'a loopback address such as 127.0.0.1', {
    hint: 'binding other interfaces exposes the port to the network; pass allowAllInterfaces: true (CLI: --listen-any) if you mean it',
  });
}
