import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { relayThroughReusedBuffer } from './reused-buffer-relay';
import type { ConnectionMeter } from './route-source';

/** Byte counts of one client connection, updated as bytes flow. */
export interface SpliceCounts {
  bytesIn: number;
  bytesOut: number;
}

/**
 * Join client and path both ways with back-pressure: first the client's held bytes to the path, then everything
 * else (the door writes a path's first bytes to the client itself, before this). The byte counts on `counts` and `meter` are read from
 * the client socket's own counters when asked, not counted per chunk (a listener call per chunk costs
 * throughput); the meter is closed once, when either side ends.
 */
export function splice(
  client: Socket,
  upstream: Duplex,
  options: {
    meter: ConnectionMeter;
    counts: SpliceCounts;
    held: readonly Buffer[];
    /** How long one side may take to flush after the other has closed. */
    lingerMs: number;
  },
): void {
  const { meter } = options;
  // Everything the client sent was held (and is replayed below) or is piped from here on, and everything
  // written to it came from the path, so its socket's counters are the connection's counts.
  const read = () => ({ bytesIn: client.bytesWritten, bytesOut: client.bytesRead });
  Object.defineProperties(options.counts, {
    bytesIn: { enumerable: true, configurable: true, get: () => client.bytesWritten },
    bytesOut: { enumerable: true, configurable: true, get: () => client.bytesRead },
  });
  meter.follow(read);
  for (const chunk of options.held) upstream.write(chunk);
  // Each way reads into a reused buffer where the socket allows it (a fresh buffer per read was most of the cost).
  if (!relayThroughReusedBuffer(upstream, client)) upstream.pipe(client);
  if (!relayThroughReusedBuffer(client, upstream)) client.pipe(upstream);
  client.resume();
  upstream.resume();
  let finished = false;
  const done = (other: Duplex) => (hadError?: boolean) => {
    if (!finished) {
      finished = true;
      meter.close();
    }
    // An error cuts both ways at once; a clean close lets what is queued for the other side flush first.
    if (hadError === true) other.destroy();
    else closeAfterFlush(other, options.lingerMs);
  };
  client.once('close', done(upstream));
  upstream.once('close', done(client));
}

/** End a stream once its queued writes are out, and destroy it at the latest after `lingerMs`. */
function closeAfterFlush(stream: Duplex, lingerMs: number): void {
  if (stream.destroyed) return;
  const timer = setTimeout(() => stream.destroy(), lingerMs);
  timer.unref();
  stream.once('close', () => clearTimeout(timer));
  stream.end();
  if (stream.writableFinished) stream.destroy();
  else stream.once('finish', () => stream.destroy());
}
