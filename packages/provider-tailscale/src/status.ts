import net from 'node:net';
import { z } from 'zod';
import { type TailscaleCli, tailscaleError } from './cli';

// `tailscale status --json` (ipnstate.Status), read loosely: only the fields tunnelmux uses are checked.
const nodeSchema = z.looseObject({
  HostName: z.string().catch(''),
  DNSName: z.string().catch(''),
  TailscaleIPs: z
    .array(z.string())
    .nullish()
    .transform((ips) => ips ?? []),
  Online: z.boolean().catch(false),
  CurAddr: z.string().catch(''),
  Relay: z.string().catch(''),
  LastSeen: z.string().optional().catch(undefined),
});

const statusSchema = z.looseObject({
  Version: z.string().optional().catch(undefined),
  TUN: z.boolean().optional().catch(undefined),
  BackendState: z.string(),
  AuthURL: z.string().catch(''),
  Self: nodeSchema.nullish(),
  MagicDNSSuffix: z.string().catch(''),
  Peer: z.record(z.string(), nodeSchema).nullish(),
});

export type TailscaleNode = z.output<typeof nodeSchema>;
export type TailscaleStatus = z.output<typeof statusSchema>;

/** A resolved peer, with what a path needs to reach it. */
export interface Peer {
  /** The MagicDNS short name (`devbox`), or the HostName when MagicDNS names are missing. */
  name: string;
  dnsName: string;
  hostName: string;
  ips: string[];
  /** The address to dial: the first IPv4, else the first address. */
  ip: string;
  online: boolean;
  self: boolean;
  lastSeen?: string;
}

/** Parse the JSON; a clear transient error when it is not status JSON. */
export function parseStatus(text: string): TailscaleStatus {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw tailscaleError(
      `\`tailscale status --json\` printed something that is not JSON: ${JSON.stringify(text.slice(0, 120))}`,
      {
        cause: error,
      },
    );
  }
  const result = statusSchema.safeParse(json);
  if (!result.success) {
    throw tailscaleError(
      '`tailscale status --json` printed JSON without a BackendState; is this the tailscale CLI?',
      {
        cause: result.error,
      },
    );
  }
  return result.data;
}

/** Why the node cannot carry traffic, or undefined when it is Running. Fatal means a person must act. */
export function backendProblem(
  status: TailscaleStatus,
  cli: Pick<TailscaleCli, 'display'>,
): { message: string; fatal: boolean } | undefined {
  switch (status.BackendState) {
    case 'Running':
      return undefined;
    case 'Stopped':
      return { message: `Tailscale is stopped — run \`${cli.display('up')}\``, fatal: true };
    case 'NeedsLogin':
      return {
        message: status.AuthURL
          ? `Tailscale is logged out — log in at ${status.AuthURL}`
          : `Tailscale is logged out — run \`${cli.display('up')}\` to log in`,
        fatal: true,
      };
    case 'NeedsMachineAuth':
      return {
        message:
          'this machine is waiting for approval by the tailnet admin (NeedsMachineAuth) — approve it at https://login.tailscale.com/admin/machines',
        fatal: true,
      };
    case 'Starting':
      return {
        message: 'Tailscale is starting (BackendState Starting); waiting for it to be Running',
        fatal: false,
      };
    default:
      return {
        message: `tailscaled is in state ${JSON.stringify(status.BackendState)}, not Running; is it still starting?`,
        fatal: false,
      };
  }
}

function shortName(node: TailscaleNode): string {
  return node.DNSName ? node.DNSName.split('.')[0]! : node.HostName;
}

function toPeer(node: TailscaleNode, self: boolean): Peer {
  const ip = node.TailscaleIPs.find((address) => net.isIPv4(address)) ?? node.TailscaleIPs[0] ?? '';
  return {
    name: shortName(node),
    dnsName: node.DNSName.replace(/\.$/, ''),
    hostName: node.HostName,
    ips: node.TailscaleIPs,
    ip,
    online: self || node.Online,
    self,
    lastSeen: node.LastSeen && !node.LastSeen.startsWith('0001-') ? node.LastSeen : undefined,
  };
}

export type PeerLookup =
  | { found: Peer }
  | { found?: undefined; ambiguous: Peer[] }
  | { found?: undefined; ambiguous?: undefined; known: string[] };

/**
 * Find `host` among this node and its peers: by tailnet IP, then full MagicDNS name, then MagicDNS short
 * name, then HostName (case-insensitive; the first rule with a match wins).
 */
export function resolvePeer(status: TailscaleStatus, host: string): PeerLookup {
  const candidates: Array<{ node: TailscaleNode; self: boolean }> = [
    ...Object.values(status.Peer ?? {}).map((node) => ({ node, self: false })),
    ...(status.Self ? [{ node: status.Self, self: true }] : []),
  ];
  const wanted = host.toLowerCase().replace(/\.$/, '');
  const rules: Array<(node: TailscaleNode) => boolean> = [
    (node) => node.TailscaleIPs.includes(host),
    (node) => node.DNSName.toLowerCase().replace(/\.$/, '') === wanted,
    (node) => shortName(node).toLowerCase() === wanted,
    (node) => node.HostName.toLowerCase() === wanted,
  ];
  for (const rule of rules) {
    const matches = candidates.filter(({ node }) => rule(node));
    if (matches.length === 1) return { found: toPeer(matches[0]!.node, matches[0]!.self) };
    if (matches.length > 1) return { ambiguous: matches.map(({ node, self }) => toPeer(node, self)) };
  }
  const known = Object.values(status.Peer ?? {})
    .map(shortName)
    .sort();
  return { known };
}

/** The peer a path goes to, or the error that says why it cannot: unknown (fatal), offline (transient). */
export function requirePeer(status: TailscaleStatus, host: string): Peer {
  const lookup = resolvePeer(status, host);
  if (lookup.found) {
    if (!lookup.found.online) {
      const since = lookup.found.lastSeen ? ` (last seen ${lookup.found.lastSeen})` : '';
      throw tailscaleError(`peer ${host} is offline${since}; waiting for it to come back`);
    }
    if (!lookup.found.ip) throw tailscaleError(`peer ${host} has no tailnet IP in \`tailscale status\``);
    return lookup.found;
  }
  if (lookup.ambiguous) {
    const names = lookup.ambiguous.map((peer) => `${peer.dnsName || peer.name} (${peer.ip})`).join(', ');
    throw tailscaleError(
      `option "host" ${JSON.stringify(host)} matches several peers: ${names}; use the full MagicDNS name or the IP`,
      {
        fatal: true,
      },
    );
  }
  const shown =
    lookup.known.slice(0, 20).join(', ') +
    (lookup.known.length > 20 ? `, … (${lookup.known.length} in all)` : '');
  throw tailscaleError(
    `no peer named ${host} in this tailnet; known peers: ${shown || '(none)'} — fix option "host"`,
    { fatal: true },
  );
}

// What the CLI prints when tailscaled is not there (cli.go fixTailscaledConnectError; wording varies by version).
const NO_DAEMON =
  /failed to connect to local tailscale|failed to connect to local tailscaled|tailscaled.*not running/i;

/** True when the CLI said tailscaled is not running (or not at that socket). */
export function isDaemonDown(stderr: string): boolean {
  return NO_DAEMON.test(stderr);
}

/** Run `tailscale status --json` and parse it; a missing daemon or a failed run is a transient error. */
export async function readStatus(
  cli: TailscaleCli,
  options: { signal: AbortSignal; timeoutMs?: number },
): Promise<TailscaleStatus> {
  const result = await cli.run(['status', '--json'], {
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  const lastLines = [...result.stdout.split('\n').slice(-5), ...result.stderr.split('\n')]
    .filter(Boolean)
    .slice(-10);
  if (result.code !== 0) {
    const said =
      result.stderr.trim() || result.stdout.trim() || result.reason || `exit ${result.code ?? result.signal}`;
    if (isDaemonDown(said)) {
      const where = cli.socket ? `at --socket=${cli.socket}` : 'at its default socket';
      throw tailscaleError(
        `tailscaled is not running ${where}: start it (e.g. \`sudo systemctl start tailscaled\`) or set option "socket" to its socket path; tailscale said: ${said}`,
        { lastLines },
      );
    }
    throw tailscaleError(`\`${cli.display('status', '--json')}\` failed: ${said}`, { lastLines });
  }
  return parseStatus(result.stdout);
}

/** `host:port`, with brackets for an IPv6 tailnet address. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
