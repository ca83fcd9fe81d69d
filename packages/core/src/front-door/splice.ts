import type { Duplex } from 'node:stream';
import type { ConnectionMeter } from './route-source';

/** Byte counts of one client connection, updated as bytes flow. */
export interface SpliceCounts {
  bytesIn: number;
  bytesOut: number;
}

/**
 * Join client and path both ways with back-pressure: first the path's first bytes to the client and the
 * client's held bytes to the path, then everything else. Counts bytes on `counts` and `meter`; closes the
 * meter once when either side ends.
 */
export function splice(
  client: Duplex,
  upstream: Duplex,
  options: {
    meter: ConnectionMeter;
    counts: SpliceCounts;
    first?: Buffer;
    held: readonly Buffer[];
    /** How long one side may take to flush after the other has closed. */
    lingerMs: number;
  },
): void {
  const { meter, counts } = options;
  const countIn = (chunk: Buffer) => {
    counts.bytesIn += chunk.length;
    meter.bytesIn(chunk.length);
  };
  const countOut = (chunk: Buffer) => {
    counts.bytesOut += chunk.length;
    meter.bytesOut(chunk.length);
  };
  if (options.first) {
    countIn(options.first);
    client.write(options.first);
  }
  for (const chunk of options.held) {
    countOut(chunk);
    upstream.write(chunk);
  }
  upstream.on('data', countIn);
  client.on('data', countOut);
  upstream.pipe(client);
  client.pipe(upstream);
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
