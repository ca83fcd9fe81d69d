import { Duplex } from 'node:stream';
import type { ChildHandle, ExitInfo } from '@tunnelmux/core/provider';
import { tailscaleError } from './cli';

/**
 * A duplex stream over one `tailscale nc HOST PORT` child: writes go to its stdin, its stdout is what the
 * peer sent. Destroying the stream stops the child (SIGTERM, then SIGKILL); the child ending (the peer
 * closed, or the dial failed) ends or errors the stream. Like the real nc, ending our side ends the child.
 */
export class NcStream extends Duplex {
  private readonly stderr: string[] = [];
  private sawData = false;
  /** Settles once the child is gone. */
  readonly gone: Promise<ExitInfo>;
  /** The `tailscale nc` process carrying this stream. */
  readonly pid: number | undefined;

  constructor(
    private readonly child: ChildHandle,
    private readonly what: string,
    private readonly onDialFailure: (reason: string) => void,
  ) {
    super({ allowHalfOpen: true });
    const stdout = child.stdio.stdout;
    const stdin = child.stdio.stdin;
    child.onLine((line) => {
      if (line.stream === 'stderr') this.stderr.push(line.text);
      if (this.stderr.length > 20) this.stderr.shift();
    });
    // A child that is gone makes writes fail with EPIPE; its exit, below, says why.
    stdin?.on('error', () => undefined);
    stdout?.on('data', (chunk: Buffer) => {
      this.sawData = true;
      if (!this.push(chunk)) stdout.pause();
    });
    this.gone = child.exited;
    this.pid = child.pid;
    // End or fail only once the exit code is known, so a failed dial is an error, never a clean EOF.
    void child.exited.then((info) => this.childExited(info));
  }

  private childExited(info: ExitInfo): void {
    if (this.destroyed) return;
    if (info.code === 0) {
      this.push(null);
      return;
    }
    const said =
      this.stderr.at(-1) ?? info.reason ?? (info.signal ? `killed by ${info.signal}` : `exit ${info.code}`);
    const reason = `${this.what} ${this.sawData ? 'broke' : 'failed'}: ${said}`;
    if (!this.sawData) this.onDialFailure(reason);
    this.destroy(tailscaleError(reason, { lastLines: [...this.stderr] }));
  }

  override _read(): void {
    this.child.stdio.stdout?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const stdin = this.child.stdio.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) {
      callback();
      return;
    }
    // Errors surface through the child's exit; the callback keeps back-pressure.
    stdin.write(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdio.stdin?.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.child.stdio.stdout?.destroy();
    this.child.stdio.stdin?.destroy();
    void this.child.stop();
    callback(error);
  }
}
