/** Splits a byte stream into lines with a hard cap, so a tool printing junk cannot grow memory. */
export class LineSplitter {
  private partial = '';
  private dropping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineLength = 4096,
  ) {}

  push(chunk: string | Buffer): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let start = 0;
    for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', start)) {
      this.append(text.slice(start, index));
      this.flushLine();
      start = index + 1;
    }
    this.append(text.slice(start));
  }

  /** Emit whatever is left when the stream ends. */
  end(): void {
    if (this.partial.length > 0 || this.dropping) this.flushLine();
  }

  private append(piece: string): void {
    if (this.dropping || piece.length === 0) return;
    const room = this.maxLineLength - this.partial.length;
    if (piece.length <= room) {
      this.partial += piece;
      return;
    }
    this.partial += piece.slice(0, room);
    this.dropping = true;
  }

  private flushLine(): void {
    const line = this.partial.replace(/\r$/, '');
    const truncated = this.dropping;
    this.partial = '';
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
