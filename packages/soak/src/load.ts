import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { BANNER } from './target';

/** One new client connection: when it started and ended, and how far it got. */
export interface Attempt {
  from: number;
  to: number;
  kind: 'round' | 'stream' | 'interactive' | 'never-reading';
  /** `ok`; or where it failed: before the banner (a failed new connection) or after it (cut). */
  outcome: 'ok' | 'failed' | 'cut';
  error?: string;
}

export interface LoadOptions {
  port: number;
  /** A new short client connection every this many ms. */
  everyMs: number;
  streams: number;
  interactive: number;
  neverReading: number;
  /** Bound on every wait of one connection. */
  timeoutMs: number;
}

export interface LoadStats {
  /** Echoed bytes compared byte for byte with what was sent. */
  verifiedBytes: number;
  /** Bytes that came back different or out of order. */
  corruptedBytes: number;
  corruptions: string[];
  /** Streams that ended cleanly with equal sha256 digests both ways, and those whose digests differed. */
  digestsMatched: number;
  digestsDiffered: number;
  streamCuts: number;
  interactiveEchoes: number;
  /** Slowest interactive echo, ms. */
  interactiveMaxMs: number;
  interactiveP99Ms: number;
}

/** The load on one front door: short rounds, long echo streams checked byte for byte, interactive sessions. */
export class Load {
  readonly attempts: Attempt[] = [];
  private readonly latencies: number[] = [];
  private readonly stats = {
    verifiedBytes: 0,
    corruptedBytes: 0,
    corruptions: [] as string[],
    digestsMatched: 0,
    digestsDiffered: 0,
    streamCuts: 0,
    interactiveEchoes: 0,
  };
  private timer?: NodeJS.Timeout;
  private stopping = false;
  private readonly live = new Set<Promise<unknown>>();
  private readonly streams = new Set<Stream>();
  private readonly sockets = new Set<net.Socket>();
  private roundId = 0;

  constructor(private readonly options: LoadOptions) {}

  start(): void {
    this.timer = setInterval(() => this.track(this.round()), this.options.everyMs);
    for (let i = 0; i < this.options.streams; i++) this.track(this.keep('stream'));
    for (let i = 0; i < this.options.interactive; i++) this.track(this.keep('interactive'));
    for (let i = 0; i < this.options.neverReading; i++) this.track(this.keepNeverReading());
  }

  /** Stop making connections, close every stream cleanly (comparing digests), wait for all, bounded. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    for (const stream of this.streams) stream.finish();
    for (const socket of this.sockets) socket.destroy();
    const bound = new Promise((resolve) => setTimeout(resolve, this.options.timeoutMs + 5_000).unref());
    await Promise.race([Promise.allSettled([...this.live]), bound]);
  }

  figures(): LoadStats {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      ...this.stats,
      corruptions: this.stats.corruptions.slice(0, 20),
      interactiveMaxMs: Math.round(sorted[sorted.length - 1] ?? 0),
      interactiveP99Ms: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? 0),
    };
  }

  private track(work: Promise<unknown>): void {
    this.live.add(work);
    void work.finally(() => this.live.delete(work));
  }

  /** Connect, read the banner, send one line, read it back, close. */
  private round(): Promise<void> {
    const line = Buffer.from(`ping-${++this.roundId}\n`);
    return new Promise((resolve) => {
      const from = Date.now();
      const socket = net.connect({ host: '127.0.0.1', port: this.options.port });
      this.sockets.add(socket);
      let got = Buffer.alloc(0);
      let bannered = false;
      let settled = false;
      const finish = (outcome: Attempt['outcome'], error?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.sockets.delete(socket);
        socket.destroy();
        if (!this.stopping || outcome === 'ok')
          this.attempts.push({ from, to: Date.now(), kind: 'round', outcome, error });
        resolve();
      };
      const timer = setTimeout(
        () => finish(bannered ? 'cut' : 'failed', `timed out after ${this.options.timeoutMs} ms`),
        this.options.timeoutMs,
      );
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (!bannered && got.length >= BANNER.length) {
          if (!got.subarray(0, BANNER.length).equals(Buffer.from(BANNER))) {
            this.corrupt(
              got.length,
              `round ${this.roundId}: banner ${JSON.stringify(got.subarray(0, 40).toString('latin1'))}`,
            );
            finish('cut', 'wrong banner');
            return;
          }
          bannered = true;
          socket.write(line);
        }
        if (bannered && got.length >= BANNER.length + line.length) {
          const echo = got.subarray(BANNER.length);
          if (echo.equals(line)) {
            this.stats.verifiedBytes += line.length;
            finish('ok');
          } else {
            this.corrupt(
              echo.length,
              `round echo ${JSON.stringify(echo.subarray(0, 40).toString('latin1'))}`,
            );
            finish('cut', 'wrong echo');
          }
        }
      });
      socket.on('error', (error) => finish(bannered ? 'cut' : 'failed', error.message));
      socket.on('close', () => finish(bannered ? 'cut' : 'failed', 'closed'));
    });
  }

  /** Keep one long-lived stream (or interactive session) open until stop, reopening it after a cut. */
  private async keep(kind: 'stream' | 'interactive'): Promise<void> {
    while (!this.stopping) {
      const stream = new Stream(this.options, kind, this);
      this.streams.add(stream);
      const outcome = await stream.run();
      this.streams.delete(stream);
      if (outcome === 'cut') this.stats.streamCuts += 1;
      if (!this.stopping) await pause(100 + Math.random() * 400);
    }
  }

  /** A client that asks for a firehose and never reads; reopened after a cut. */
  private async keepNeverReading(): Promise<void> {
    while (!this.stopping) {
      await new Promise<void>((resolve) => {
        const from = Date.now();
        const socket = net.connect({ host: '127.0.0.1', port: this.options.port });
        this.sockets.add(socket);
        let bannered = false;
        const timer = setTimeout(
          () => socket.destroy(new Error('no banner in time')),
          this.options.timeoutMs,
        );
        const end = (outcome: Attempt['outcome'], error?: string) => {
          clearTimeout(timer);
          this.sockets.delete(socket);
          if (!this.stopping)
            this.attempts.push({ from, to: Date.now(), kind: 'never-reading', outcome, error });
          resolve();
        };
        socket.once('data', () => {
          bannered = true;
          clearTimeout(timer);
          socket.write('FIRE\n');
          // From here on we never read: the kernel buffers fill and every hop must stop, not buffer.
          socket.pause();
        });
        socket.on('error', () => undefined);
        socket.on('close', () => end(bannered ? 'cut' : 'failed'));
      });
      if (!this.stopping) await pause(1000);
    }
  }

  /** Called by streams. */
  record(attempt: Attempt): void {
    if (!this.stopping || attempt.outcome === 'ok') this.attempts.push(attempt);
  }
  verified(bytes: number): void {
    this.stats.verifiedBytes += bytes;
  }
  corrupt(bytes: number, what: string): void {
    this.stats.corruptedBytes += bytes;
    this.stats.corruptions.push(`${new Date().toISOString()} ${what}`);
  }
  digest(matched: boolean): void {
    if (matched) this.stats.digestsMatched += 1;
    else this.stats.digestsDiffered += 1;
  }
  interactiveEcho(ms: number): void {
    this.stats.interactiveEchoes += 1;
    if (this.latencies.length < 200_000) this.latencies.push(ms);
  }
  get isStopping(): boolean {
    return this.stopping;
  }
}

/** One echo stream: random data out, every byte back compared in order, sha256 both ways at a clean end. */
class Stream {
  private socket?: net.Socket;
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly sent = createHash('sha256');
  private readonly received = createHash('sha256');
  private finishing = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly options: LoadOptions,
    private readonly kind: 'stream' | 'interactive',
    private readonly load: Load,
  ) {}

  /** Resolves 'clean' after a clean finish, 'cut' when the connection was lost, 'failed' if it never opened. */
  run(): Promise<'clean' | 'cut' | 'failed'> {
    return new Promise((resolve) => {
      const from = Date.now();
      const socket = net.connect({ host: '127.0.0.1', port: this.options.port, allowHalfOpen: true });
      this.socket = socket;
      let head = Buffer.alloc(0);
      let bannered = false;
      let waitingSince = 0;
      let done = false;
      const openTimer = setTimeout(
        () => socket.destroy(new Error('no banner in time')),
        this.options.timeoutMs,
      );
      const end = (outcome: 'clean' | 'cut' | 'failed', error?: string) => {
        if (done) return;
        done = true;
        clearTimeout(openTimer);
        clearTimeout(this.timer);
        socket.destroy();
        if (!bannered) this.load.record({ from, to: Date.now(), kind: this.kind, outcome: 'failed', error });
        resolve(outcome);
      };
      const step = () => {
        if (done || this.finishing) return;
        if (this.kind === 'interactive') {
          // Type a few bytes, wait for them to come back, think, repeat.
          const data = randomBytes(1 + Math.floor(Math.random() * 32));
          waitingSince = performance.now();
          this.send(data);
          this.timer = setTimeout(() => socket.destroy(new Error('no echo in time')), this.options.timeoutMs);
        } else {
          if (this.pendingBytes < 256 * 1024)
            this.send(randomBytes(1024 + Math.floor(Math.random() * 7 * 1024)));
          this.timer = setTimeout(step, 200 + Math.random() * 300);
        }
      };
      socket.on('data', (chunk: Buffer) => {
        if (!bannered) {
          head = Buffer.concat([head, chunk]);
          if (head.length < BANNER.length) return;
          if (!head.subarray(0, BANNER.length).equals(Buffer.from(BANNER))) {
            this.load.corrupt(
              head.length,
              `${this.kind}: banner ${JSON.stringify(head.subarray(0, 40).toString('latin1'))}`,
            );
            end('cut', 'wrong banner');
            return;
          }
          bannered = true;
          clearTimeout(openTimer);
          this.load.record({ from, to: Date.now(), kind: this.kind, outcome: 'ok' });
          chunk = head.subarray(BANNER.length);
          step();
          if (chunk.length === 0) return;
        }
        if (!this.check(chunk)) {
          end('cut', 'corrupted');
          return;
        }
        if (this.kind === 'interactive' && this.pendingBytes === 0 && !this.finishing) {
          clearTimeout(this.timer);
          this.load.interactiveEcho(performance.now() - waitingSince);
          this.timer = setTimeout(step, 50 + Math.random() * 250);
        }
      });
      socket.on('end', () => {
        if (this.finishing && this.pendingBytes === 0) {
          const matched = this.sent.digest('hex') === this.received.digest('hex');
          this.load.digest(matched);
          if (!matched) this.load.corrupt(0, `${this.kind}: sha256 differs at a clean end`);
          end('clean');
        } else end('cut', 'ended early');
      });
      socket.on('error', (error) => end(bannered ? 'cut' : 'failed', error.message));
      socket.on('close', () => end(bannered ? 'cut' : 'failed', 'closed'));
    });
  }

  /** Half-close once what is in flight is back; the 'end' handler compares digests. Bounded. */
  finish(): void {
    this.finishing = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    if (!socket) return;
    socket.end();
    setTimeout(() => socket.destroy(new Error('no clean end in time')), this.options.timeoutMs).unref();
  }

  private send(data: Buffer): void {
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.sent.update(data);
    this.socket?.write(data);
  }

  /** Compare what came back with the oldest bytes not yet echoed; false on any difference. */
  private check(chunk: Buffer): boolean {
    this.received.update(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      const head = this.pending[0];
      if (!head) {
        this.load.corrupt(
          chunk.length - offset,
          `${this.kind}: ${chunk.length - offset} bytes came back that were never sent`,
        );
        return false;
      }
      const n = Math.min(head.length, chunk.length - offset);
      if (!chunk.subarray(offset, offset + n).equals(head.subarray(0, n))) {
        this.load.corrupt(n, `${this.kind}: ${n} bytes differ from what was sent (corrupted or reordered)`);
        return false;
      }
      offset += n;
      this.pendingBytes -= n;
      this.load.verified(n);
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    }
    return true;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
