import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';

/** Two ends of one TLS connection over 127.0.0.1, and how to close them with their server. */
export interface TlsPair {
  /** The accepted end. */
  near: tls.TLSSocket;
  /** The dialling end. */
  far: tls.TLSSocket;
  close(): Promise<void>;
}

// A pre-shared key stands in for a certificate: real TLS (encrypted sockets, a handshake) with nothing to
// generate or commit, since node:crypto cannot make an X.509 certificate. PSK suites are TLS 1.2 in Node.
const TLS_OPTIONS = {
  ciphers: 'PSK-AES128-GCM-SHA256',
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.2',
} as const;

/**
 * A TLS connection over 127.0.0.1 with a throwaway pre-shared key, both ends past the handshake and with errors
 * swallowed (tests cut them on purpose); its `close` goes on `cleanups`, for the test's afterEach.
 */
export async function tlsPair(cleanups: Array<() => Promise<unknown>>): Promise<TlsPair> {
  const key = randomBytes(32);
  const server = tls.createServer({ ...TLS_OPTIONS, pskCallback: () => key });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const accepted = new Promise<tls.TLSSocket>((resolve, reject) => {
    server.once('secureConnection', resolve);
    server.once('tlsClientError', reject);
  });
  const far = tls.connect({
    ...TLS_OPTIONS,
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    pskCallback: () => ({ psk: key, identity: 'tunnelmux-test' }),
    // No certificate to check: the key is what both ends share.
    checkServerIdentity: () => undefined,
  });
  const connected = new Promise<void>((resolve, reject) => {
    far.once('secureConnect', resolve);
    far.once('error', reject);
  });
  const close = async () => {
    far.destroy();
    (await accepted.catch(() => undefined))?.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  cleanups.push(close);
  const [near] = await Promise.all([accepted, connected]);
  for (const socket of [near, far]) socket.on('error', () => undefined);
  return { near, far, close };
}
