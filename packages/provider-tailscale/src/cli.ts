import { ProviderError } from '@tunnelmux/core';
import type { ChildHandle, ProviderHelpers } from '@tunnelmux/core/provider';

export const PROVIDER = 'tailscale';
export const INSTALL_URL = 'https://tailscale.com/download';

// Output kept from one command; `status --json` of a big tailnet is a few hundred KB at most.
const MAX_OUTPUT = 8 * 1024 * 1024;

/** A tunnelmux error about tailscale, with the provider prefix. */
export function tailscaleError(
  message: string,
  options: { fatal?: boolean; cause?: unknown; lastLines?: string[] } = {},
): ProviderError {
  return new ProviderError(message, { provider: PROVIDER, ...options });
}

/** What one finished command printed. */
export interface CommandResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Why it could not run at all (e.g. the executable vanished). */
  reason?: string;
}

/** The tailscale executable plus the global flags every call carries (`--socket=PATH` before the subcommand). */
export class TailscaleCli {
  constructor(
    readonly bin: string,
    readonly socket: string | undefined,
    private readonly helpers: Pick<ProviderHelpers, 'spawn'>,
  ) {}

  /** argv for a subcommand: global flags first, because Go's flag parsing stops at the subcommand. */
  args(...subcommand: string[]): string[] {
    return this.socket ? [`--socket=${this.socket}`, ...subcommand] : subcommand;
  }

  /** How a user would type it, for messages: `tailscale --socket=/x status --json`. */
  display(...subcommand: string[]): string {
    return ['tailscale', ...this.args(...subcommand)].join(' ');
  }

  /** Start a long-lived subcommand (nc). */
  spawn(
    subcommand: string[],
    options: { stdin?: 'pipe' | 'ignore'; killGraceMs?: number } = {},
  ): ChildHandle {
    return this.helpers.spawn(this.bin, this.args(...subcommand), {
      ...options,
      keepLines: 20,
    });
  }

  /** Run a subcommand to completion, bounded by `timeoutMs` and `signal`. */
  async run(
    subcommand: string[],
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<CommandResult> {
    if (options.signal.aborted) throw abortError(options.signal);
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const child = this.helpers.spawn(this.bin, this.args(...subcommand), {
      signal: AbortSignal.any([options.signal, timeout]),
      killGraceMs: 1000,
    });
    const stdout = collect(child.stdio.stdout);
    const stderr = collect(child.stdio.stderr);
    const info = await child.exited;
    if (options.signal.aborted) throw abortError(options.signal);
    if (timeout.aborted) {
      throw tailscaleError(
        `\`${this.display(...subcommand)}\` did not finish within ${options.timeoutMs} ms`,
        {
          lastLines: info.lastLines,
        },
      );
    }
    return { code: info.code, signal: info.signal, stdout: stdout(), stderr: stderr(), reason: info.reason };
  }
}

/** Gather a stream's raw text (bounded); line splitting would cut long JSON lines. */
function collect(stream: NodeJS.ReadableStream | null | undefined): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on('data', (chunk: Buffer) => {
    if (size >= MAX_OUTPUT) return;
    chunks.push(chunk);
    size += chunk.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : tailscaleError('aborted', { cause: reason });
}

/** The first line of `tailscale version` is the short version (`1.88.1`). */
export function parseVersion(output: string): string | undefined {
  const first = output.split(/\r?\n/).find((line) => line.trim() !== '');
  return first && /^\d+\.\d+(\.\d+)?(\S*)$/.test(first.trim()) ? first.trim() : undefined;
}
