import type { Duplex } from 'node:stream';
import { SessionError } from './errors';

/** Reads exact byte counts from a carrier during the handshake, then hands the rest over paused. */
export class CarrierReader {
  readonly #socket: Duplex;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failure: Error | undefined;
  #waiter: { n: number; resolve: (bytes: Buffer) => void; reject: (error: Error) => void } | undefined;

  readonly #maxBuffered: number;

  /** `maxBuffered`: bytes a peer may send ahead before the handshake ends (the relay bounds strangers). */
  constructor(socket: Duplex, maxBuffered = Number.POSITIVE_INFINITY) {
    this.#socket = socket;
    this.#maxBuffered = maxBuffered;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  read(n: number): Promise<Buffer> {
    if (this.#buffered >= n) return Promise.resolve(this.#take(n));
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiter = { n, resolve, reject };
    });
  }

  /** Stop reading: pause the socket, drop our listeners, return what was read past the handshake. */
  release(): Buffer {
    this.#socket.pause();
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onEnd);
    this.#socket.off('error', this.#onError);
    const rest = Buffer.concat(this.#chunks);
    this.#chunks = [];
    this.#buffered = 0;
    return rest;
  }

  #take(n: number): Buffer {
    const joined = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const out = joined.subarray(0, n);
    this.#chunks = joined.length > n ? [joined.subarray(n)] : [];
    this.#buffered -= n;
    return out;
  }

  #onData = (chunk: Buffer) => {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    // Never buffer more than a handshake needs: a peer flooding before it proved the key is cut off.
    if (this.#buffered > this.#maxBuffered) {
      this.#fail(
        new SessionError('bad-handshake', 'the peer sent more than a handshake before proving the key'),
      );
      this.#socket.destroy();
      return;
    }
    const waiter = this.#waiter;
    if (waiter && this.#buffered >= waiter.n) {
      this.#waiter = undefined;
      waiter.resolve(this.#take(waiter.n));
    }
  };

  #onEnd = () => this.#fail(new SessionError('carrier', 'the carrier closed during the handshake'));

  #onError = (error: Error) =>
    this.#fail(
      new SessionError('carrier', `the carrier failed during the handshake: ${error.message}`, {
        cause: error,
      }),
    );

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#failure);
  }
}
