/**
 * Splits a byte stream into lines with a hard cap, so a tool printing junk cannot grow memory. It works on bytes
 * and decodes each line on its own: a line sliced from a decoded chunk would keep the whole chunk alive.
 */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private dropping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    /** The longest line kept, in bytes; the rest of a longer line is dropped unread. */
    private readonly maxLineLength = 4096,
  ) {}

  push(chunk: string | Buffer): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let index = bytes.indexOf(10); index !== -1; index = bytes.indexOf(10, start)) {
      this.append(bytes, start, index, false);
      this.flushLine();
      start = index + 1;
    }
    this.append(bytes, start, bytes.length, true);
  }

  /** Emit whatever is left when the stream ends. */
  end(): void {
    if (this.partialBytes > 0 || this.dropping) this.flushLine();
  }

  private append(bytes: Buffer, from: number, to: number, carried: boolean): void {
    if (this.dropping || to <= from) return;
    const room = this.maxLineLength - this.partialBytes;
    const end = Math.min(to, from + room);
    if (end < to) this.dropping = true;
    if (end <= from) return;
    // A piece carried to the next chunk is copied, so it does not keep the whole chunk alive.
    const piece = carried ? Buffer.from(bytes.subarray(from, end)) : bytes.subarray(from, end);
    this.partial.push(piece);
    this.partialBytes += piece.length;
  }

  private flushLine(): void {
    const bytes =
      this.partial.length === 1 ? this.partial[0]! : Buffer.concat(this.partial, this.partialBytes);
    const length = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
    const line = bytes.toString('utf8', 0, length);
    const truncated = this.dropping;
    this.partial = [];
    this.partialBytes = 0;
    this.dropping = false;
    this.onLine(truncated ? `${line}… [truncated]` : line);
  }
}

/** Keeps the newest `size` items. */
export class RingBuffer<T> {
  private items: T[] = [];

  constructor(private readonly size: number) {}

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.size) this.items.shift();
  }

  toArray(): T[] {
    return [...this.items];
  }
}
