import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DeadlineList, type DeadlineNode } from '../async/deadline-list';
import { destroyStream } from './connect';
import { relayThroughReusedBuffer } from './reused-buffer-relay';
import type { ConnectionMeter, TrafficReader } from './route-source';

/**
 * Join client and path both ways with back-pressure: first the client's held bytes to the path, then everything
 * else (the door writes a path's first bytes to the client itself, before this). `counts` and `meter` read the
 * byte counts from the client socket's own counters when asked, not per chunk (a listener call per chunk costs
 * throughput); the meter is closed once, when either side ends.
 */
export function splice(
  client: Socket,
  upstream: Duplex,
  options: {
    meter: ConnectionMeter;
    /** Also told where the counts are kept (the connection's status entry). */
    counts: { follow(read: TrafficReader): void };
    held: readonly Buffer[];
    /** How long one side may take to flush after the other has closed. */
    lingerMs: number;
  },
): void {
  const { meter } = options;
  // Everything the client sent was held (and is replayed below) or is piped from here on, and everything
  // written to it came from the path, so its socket's counters are the connection's counts.
  const read = () => ({ bytesIn: client.bytesWritten, bytesOut: client.bytesRead });
  options.counts.follow(read);
  meter.follow(read);
  for (const chunk of options.held) upstream.write(chunk);
  // Each way reads into a reused buffer where the socket allows it (a fresh buffer per read was most of the cost).
  if (!relayThroughReusedBuffer(upstream, client)) upstream.pipe(client);
  if (!relayThroughReusedBuffer(client, upstream)) client.pipe(upstream);
  // Both now flow: the relay resumes the socket it reads, and pipe() its source.
  new Ends(client, upstream, meter, options.lingerMs).watch();
}

/**
 * Drop every listener of a socket that has closed (the others on 'close' still run: an emit calls the listeners it
 * had when it began). Node frees a closed socket only later, after several young-generation GCs, and its listeners
 * reach the whole connection: the other socket, the relay, the status entry. Each of those GCs copied all of them
 * for the last few hundred connections, 1.4 MB a time. A socket emits nothing after 'close'; should one ever emit an
 * error, a shared listener stays to take it. Any other stream (a provider's own) keeps its listeners.
 */
function forgetListeners(stream: Duplex): void {
  if (!(stream instanceof Socket)) return;
  stream.removeAllListeners();
  stream.on('error', destroyStream);
}

// Every carried connection's linger waits on one timer: one was made and cleared per connection.
const lingers = new DeadlineList();

/** How many spliced connections have one side closed and wait for the other to flush (for tests). */
export function lingeringConnections(): number {
  return lingers.size;
}

/** How a spliced connection ends: the meter closes once, and the side left open flushes, then closes. */
class Ends implements DeadlineNode {
  deadlineAt = 0;
  linkPrev: DeadlineNode | undefined;
  linkNext: DeadlineNode | undefined;
  private metered = true;
  private lingering: Duplex | undefined;

  constructor(
    private readonly client: Duplex,
    private readonly upstream: Duplex,
    private readonly meter: ConnectionMeter,
    private readonly lingerMs: number,
  ) {}

  watch(): void {
    // Plain listeners, not once(): each socket closes once, and a once() wrapper per socket costs more.
    this.client.on('close', (hadError?: boolean) => this.closed(this.client, this.upstream, hadError));
    this.upstream.on('close', (hadError?: boolean) => this.closed(this.upstream, this.client, hadError));
  }

  private closed(self: Duplex, other: Duplex, hadError?: boolean): void {
    forgetListeners(self);
    if (this.metered) {
      this.metered = false;
      this.meter.close();
    }
    if (other.destroyed) {
      // Both sides are closed: nothing lingers.
      lingers.remove(this);
      return;
    }
    // An error cuts both ways at once; a clean close lets what is queued for the other side flush first.
    if (hadError === true) {
      other.destroy();
      return;
    }
    this.lingering = other;
    lingers.add(this, this.lingerMs);
    other.end();
    if (other.writableFinished) other.destroy();
    else other.on('finish', destroyStream);
  }

  /** The side left open did not flush within lingerMs. */
  onDeadline(): void {
    this.lingering?.destroy();
  }
}
