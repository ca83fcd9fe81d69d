import { randomBytes } from 'node:crypto';

/** What a misbehaving tool prints on stdout while it runs. */
export type NoiseKind = 'binary' | 'long-lines' | 'flood';

export interface NoiseOptions {
  /** `flood`: bytes per second to aim at (default 100 MB/s); the reader's pace caps it through back-pressure. */
  floodBytesPerSec?: number;
  /** `long-lines`: the length of each line without a newline (default 10 MB). */
  longLineBytes?: number;
}

const CHUNK = 1024 * 1024;

/**
 * Print junk to `stream` until stopped: `binary` random bytes (invalid UTF-8, NULs, stray newlines),
 * `long-lines` a 10 MB line every second, `flood` short text lines as fast as `floodBytesPerSec` allows. Every
 * write waits for 'drain' when the reader lags, so the tool itself never grows without bound.
 */
export function startNoise(
  stream: NodeJS.WritableStream,
  kind: NoiseKind,
  options: NoiseOptions = {},
): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const later = (fn: () => void, ms: number) => {
    timer = setTimeout(fn, ms);
  };
  // Write one piece; call `next` once the stream can take more.
  const write = (piece: Buffer | string, next: () => void) => {
    if (stopped) return;
    if (stream.write(piece)) setImmediate(next);
    else stream.once('drain', next);
  };

  if (kind === 'binary') {
    const pump = () => {
      if (stopped) return;
      write(randomBytes(16 * 1024), () => later(pump, 20));
    };
    pump();
  } else if (kind === 'long-lines') {
    const total = options.longLineBytes ?? 10 * 1024 * 1024;
    const piece = Buffer.alloc(Math.min(CHUNK, total), 'x');
    const line = (left: number) => {
      if (stopped) return;
      if (left <= 0) {
        write('\n', () => later(() => line(total), 1000));
        return;
      }
      write(left >= piece.length ? piece : piece.subarray(0, left), () => line(left - piece.length));
    };
    line(total);
  } else {
    const rate = options.floodBytesPerSec ?? 100 * 1024 * 1024;
    // Short lines, like a tool stuck logging in a loop.
    const text = `${'flood '.repeat(16)}\n`.repeat(Math.ceil(CHUNK / 97)).slice(0, CHUNK);
    const started = performance.now();
    let sent = 0;
    const pump = () => {
      if (stopped) return;
      const ahead = sent / rate - (performance.now() - started) / 1000;
      if (ahead > 0) {
        later(pump, Math.ceil(ahead * 1000));
        return;
      }
      sent += text.length;
      write(text, pump);
    };
    pump();
  }
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
