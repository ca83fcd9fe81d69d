import { z } from 'zod';
import { type TailscaleCli, tailscaleError } from './cli';
import { isDaemonDown } from './status';

// `tailscale serve status --json`: json.MarshalIndent of *ipn.ServeConfig (`null` when never set). Read loosely:
// only the TCP handlers (background and foreground) matter to an expose path.
const handlerSchema = z.looseObject({
  HTTPS: z.boolean().optional().catch(undefined),
  HTTP: z.boolean().optional().catch(undefined),
  TCPForward: z.string().optional().catch(undefined),
  TerminateTLS: z.string().optional().catch(undefined),
});
const tcpSchema = z
  .record(z.string(), handlerSchema.nullable())
  .nullish()
  .transform((tcp) => tcp ?? {});
const configSchema = z
  .looseObject({
    TCP: tcpSchema,
    Foreground: z
      .record(z.string(), z.looseObject({ TCP: tcpSchema }).nullable())
      .nullish()
      .transform((fg) => fg ?? {}),
  })
  .nullable()
  .transform((config) => config ?? { TCP: {}, Foreground: {} });

export type TcpHandler = z.output<typeof handlerSchema>;
export type ServeConfig = z.output<typeof configSchema>;

/** The handler tailscaled has for a serve port, and whether it belongs to a foreground `tailscale serve`. */
export interface FoundHandler {
  handler: TcpHandler;
  foreground: boolean;
}

/** Parse the JSON; a clear transient error when it is not a serve config. */
export function parseServeConfig(text: string): ServeConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw tailscaleError(
      `\`tailscale serve status --json\` printed something that is not JSON: ${JSON.stringify(text.slice(0, 120))}`,
      { cause: error },
    );
  }
  const result = configSchema.safeParse(json);
  if (!result.success) {
    throw tailscaleError('`tailscale serve status --json` printed JSON that is not a serve config', {
      cause: result.error,
    });
  }
  return result.data;
}

/** The handler for `port`: a foreground session's first (it wins in tailscaled), else the background one. */
export function findHandler(config: ServeConfig, port: number): FoundHandler | undefined {
  const key = String(port);
  for (const fg of Object.values(config.Foreground)) {
    const handler = fg?.TCP[key];
    if (handler) return { handler, foreground: true };
  }
  const handler = config.TCP[key];
  return handler ? { handler, foreground: false } : undefined;
}

/** What a handler does, in words, for messages. */
export function describeHandler({ handler, foreground }: FoundHandler): string {
  const what = handler.HTTPS
    ? 'serves HTTPS'
    : handler.HTTP
      ? 'serves HTTP'
      : handler.TerminateTLS
        ? `terminates TLS and forwards to ${handler.TCPForward}`
        : handler.TCPForward
          ? `forwards to ${handler.TCPForward}`
          : `has a handler tunnelmux does not know (${JSON.stringify(handler)})`;
  return foreground ? `${what} (a foreground \`tailscale serve\` session)` : what;
}

/** True when the handler is a plain background TCP forward to `forward` (localhost and 127.0.0.1 are the same). */
export function forwardsTo(found: FoundHandler | undefined, forward: string): boolean {
  if (!found || found.foreground) return false;
  const { handler } = found;
  if (handler.HTTP || handler.HTTPS || handler.TerminateTLS || !handler.TCPForward) return false;
  const normal = (hostPort: string) => hostPort.replace(/^localhost:/i, '127.0.0.1:');
  return normal(handler.TCPForward) === normal(forward);
}

/** Run `tailscale serve status --json` and parse it; a missing daemon or a failed run is a transient error. */
export async function readServeConfig(
  cli: TailscaleCli,
  options: { signal: AbortSignal; timeoutMs?: number },
): Promise<ServeConfig> {
  const args = ['serve', 'status', '--json'];
  const result = await cli.run(args, { signal: options.signal, timeoutMs: options.timeoutMs ?? 10_000 });
  if (result.code !== 0) {
    const said =
      result.stderr.trim() || result.stdout.trim() || result.reason || `exit ${result.code ?? result.signal}`;
    const lastLines = said.split('\n').slice(-10);
    if (isDaemonDown(said)) {
      const where = cli.socket ? `at --socket=${cli.socket}` : 'at its default socket';
      throw tailscaleError(
        `tailscaled is not running ${where}: start it (e.g. \`sudo systemctl start tailscaled\`) or set option "socket" to its socket path; tailscale said: ${said}`,
        { lastLines },
      );
    }
    throw tailscaleError(`\`${cli.display(...args)}\` failed: ${said}`, { lastLines });
  }
  return parseServeConfig(result.stdout);
}
