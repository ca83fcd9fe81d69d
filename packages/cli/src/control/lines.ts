/** Splits a byte stream into lines, holding at most `maxBytes` of an unfinished line. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private held = 0;

  constructor(readonly maxBytes: number) {}

  /** The complete lines in `chunk` (without their newline), or `tooLong` once a line outgrows the limit. */
  push(chunk: Buffer): { lines: string[]; tooLong: boolean } {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
      if (this.held + newline - start > this.maxBytes) return { lines, tooLong: true };
      this.parts.push(chunk.subarray(start, newline));
      lines.push(Buffer.concat(this.parts).toString('utf8'));
      this.parts = [];
      this.held = 0;
      start = newline + 1;
    }
    if (start < chunk.length) {
      this.parts.push(chunk.subarray(start));
      this.held += chunk.length - start;
    }
    return { lines, tooLong: this.held > this.maxBytes };
  }
}
