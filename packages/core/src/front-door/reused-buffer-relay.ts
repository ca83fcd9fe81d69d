import net from 'node:net';
import type { Duplex } from 'node:stream';

/** How much one direction of a carried connection reads at once; its pages are touched only as bytes come. */
export const RELAY_BUFFER_BYTES = 256 * 1024;

// What `new net.Socket({ onread })` sets up, reached on a socket that already exists: an accepted socket cannot
// be given `onread`. Found by description, so a Node without them is detected and the relay falls back to pipe().
interface OnreadInternals {
  handle: { useUserBuffer(buffer: Uint8Array): void };
  kBuffer: symbol;
  kBufferCb: symbol;
}

// Buffers of relays whose sockets have both closed, for the next connections: a fresh 256 KiB per direction
// counts as external memory, and a stream of short connections then pays a full GC every few dozen of them.
const spare: Buffer[] = [];
/** At most this many spare buffers are kept (8 MiB); more are left to the garbage collector. */
export const MAX_SPARE_RELAY_BUFFERS = 32;

/** How many relay buffers wait for reuse. */
export function spareRelayBuffers(): number {
  return spare.length;
}

function takeBuffer(size: number): Buffer {
  return (size === RELAY_BUFFER_BYTES ? spare.pop() : undefined) ?? Buffer.allocUnsafe(size);
}

function isPlainSocket(stream: Duplex): stream is net.Socket {
  return stream instanceof net.Socket && (stream as { encrypted?: boolean }).encrypted !== true;
}

// Node's symbols are the same for every socket: found on the first one, not searched for per connection.
let slots: { kBuffer: symbol; kBufferCb: symbol } | undefined;

function onreadInternals(socket: net.Socket): OnreadInternals | undefined {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } | null })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return undefined;
  if (!slots) {
    const symbols = Object.getOwnPropertySymbols(socket);
    const kBuffer = symbols.find((symbol) => symbol.description === 'kBuffer');
    const kBufferCb = symbols.find((symbol) => symbol.description === 'kBufferCb');
    if (!kBuffer || !kBufferCb) return undefined;
    slots = { kBuffer, kBufferCb };
  }
  const { kBuffer, kBufferCb } = slots;
  // Already reading into a buffer of its own (made with `onread`): leave it be.
  if ((socket as unknown as Record<symbol, unknown>)[kBuffer] != null) return undefined;
  return { handle: handle as OnreadInternals['handle'], kBuffer, kBufferCb };
}

/**
 * Copy `from` into `to` by reading `from` into one reused buffer and writing it out at once, instead of one fresh
 * 64 KiB allocation per read that the garbage collector must then sweep (most of pipe()'s cost on loopback).
 * The buffer is read into again only once its last write is out: a write the kernel did not take at once stops
 * reading until it completes, which is also the back-pressure. `from`'s end ends `to`. Returns false, doing
 * nothing, unless both are plain (not TLS) sockets, `from` connected, on a Node whose internals allow it; use
 * pipe() then.
 */
export function relayThroughReusedBuffer(from: Duplex, to: Duplex, size = RELAY_BUFFER_BYTES): boolean {
  // Both ends plain sockets: a socket's write that completed has handed the bytes to the kernel, while any other
  // stream may keep a written chunk after its callback (and a TLS socket is not read through a user buffer).
  if (!isPlainSocket(from) || !isPlainSocket(to) || from.connecting || from.destroyed) return false;
  const internals = onreadInternals(from);
  if (!internals) return false;
  new BufferRelay(from, to, internals, takeBuffer(size)).start();
  return true;
}

/** One direction of a relay: `from` read into `buffer`, each read written to `to` before the next. */
class BufferRelay {
  private waiting = false;
  private open = 2;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly internals: OnreadInternals,
    private readonly buffer: Buffer,
  ) {}

  start(): void {
    const { from, to, internals, buffer } = this;
    // Bytes the socket read before now wait in its stream buffer: they go first, then everything read from here on.
    from.pause();
    internals.handle.useUserBuffer(buffer);
    const slots = from as unknown as Record<symbol, unknown>;
    slots[internals.kBuffer] = buffer;
    slots[internals.kBufferCb] = this.onRead;
    // Plain listeners, not once(): each fires once per socket, and a once() wrapper each costs more.
    if (from.readableEnded) to.end();
    else from.on('end', () => to.end());
    from.on('close', this.fromClosed);
    if (to.closed) this.closed();
    else to.on('close', this.toClosed);
    for (let chunk: Buffer | null = from.read(); chunk !== null; chunk = from.read())
      to.write(chunk, this.written);
    // Bytes still queued on `to` (held ones, the drained ones) are separate buffers: reading may start at once, and
    // the first read's write waits behind them, stopping reading until it is out.
    from.resume();
  }

  private readonly onRead = (bytes: number, buffer: Buffer): boolean => {
    const { to } = this;
    to.write(buffer.subarray(0, bytes), this.written);
    if (to.writableLength === 0) return true;
    this.waiting = true;
    return false;
  };

  private readonly written = (error?: Error | null): void => {
    // Writes complete in order, so the queue is empty exactly when the write that stopped reading is out.
    if (this.waiting && !error && this.to.writableLength === 0) {
      this.waiting = false;
      this.from.resume();
    }
  };

  private readonly toClosed = (): void => {
    // As pipe() does when its destination closes: stop taking bytes nobody will carry.
    this.from.pause();
    this.closed();
  };

  private readonly fromClosed = (): void => {
    // A closed socket is freed only later (it outlived several young-generation GCs, measured), and its read
    // callback holds this relay and, through it, the other socket: let go of both now.
    const slots = this.from as unknown as Record<symbol, unknown>;
    slots[this.internals.kBuffer] = null;
    slots[this.internals.kBufferCb] = null;
    this.closed();
  };

  /** The buffer goes back once both sockets have closed: nothing reads into it or writes out of it after that. */
  private readonly closed = (): void => {
    this.open -= 1;
    const { buffer } = this;
    if (this.open === 0 && buffer.length === RELAY_BUFFER_BYTES && spare.length < MAX_SPARE_RELAY_BUFFERS) {
      spare.push(buffer);
    }
  };
}
