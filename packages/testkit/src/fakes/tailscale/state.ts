import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** The environment variable that names the fake's state file. */
export const TAILSCALE_STATE_ENV = 'TUNNELMUX_FAKE_TAILSCALE_STATE';
/** The environment variable that names a file where the fake appends one JSON line per invocation. */
export const TAILSCALE_CALLS_ENV = 'TUNNELMUX_FAKE_TAILSCALE_CALLS';
/** Where tailscaled listens on Linux unless `--socket` says otherwise. */
export const DEFAULT_TAILSCALE_SOCKET = '/var/run/tailscale/tailscaled.sock';

export type BackendState = 'NoState' | 'NeedsLogin' | 'NeedsMachineAuth' | 'Stopped' | 'Starting' | 'Running';

/** One node of the fake tailnet (a peer, or this machine as `Self`). */
export interface FakeTailscaleNode {
  HostName: string;
  /** MagicDNS name with the trailing dot; default `<hostname>.<MagicDNSSuffix>.`. */
  DNSName?: string;
  TailscaleIPs: string[];
  /** Connected to the control plane (default true). */
  Online?: boolean;
  OS?: string;
  /** Home DERP region code (default `nyc`). */
  Relay?: string;
  /** The direct UDP endpoint; empty or absent means traffic goes through DERP. */
  CurAddr?: string;
  /** When an offline peer was last seen (RFC 3339). */
  LastSeen?: string;
  /** Where this node's services live on this machine (default 127.0.0.1). */
  loopback?: string;
  /** Tailnet port → local port on `loopback` (default: the same port). */
  ports?: Record<string, number>;
  /** The round trip `tailscale ping` reports, in ms (default 3 direct, 39 through DERP). */
  pingLatencyMs?: number;
  /** Pings to this node time out even while it is online. */
  pingTimeout?: boolean;
}

/** The world the fake `tailscale` CLI sees, read from the file named by TUNNELMUX_FAKE_TAILSCALE_STATE. */
export interface FakeTailscaleState {
  /** Short version, e.g. `1.88.1`. */
  version?: string;
  /** tailscaled: `running: false` (or a socket other than the one asked for) gives the daemon-not-running error. */
  daemon?: { running?: boolean; socket?: string };
  BackendState: BackendState;
  AuthURL?: string;
  /** False for userspace-networking nodes (no TUN device). Default true. */
  TUN?: boolean;
  MagicDNSSuffix?: string;
  Self: FakeTailscaleNode;
  Peers: FakeTailscaleNode[];
  /** tailscaled's serve config (`ipn.ServeConfig`), as `serve status --json` prints it; absent = never set (`null`). */
  serve?: FakeServeConfig | null;
  /**
   * Fake-only bookkeeping, never printed: the detached forwarder that stands in for tailscaled's listener of a
   * TCP serve handler, by serve port. It exists only when Self has a loopback tailnet IP (127.x), and listens there.
   */
  serveForwarders?: Record<string, { pid: number; host: string; port: number }>;
}

/** `ipn.TCPPortHandler`: exactly one of HTTPS, HTTP, TCPForward (TerminateTLS only with TCPForward). */
export interface FakeTCPPortHandler {
  HTTPS?: boolean;
  HTTP?: boolean;
  TCPForward?: string;
  TerminateTLS?: string;
}

/** `ipn.ServeConfig` with the fields the fake uses; map keys are port numbers as strings, as Go's JSON has them. */
export interface FakeServeConfig {
  TCP?: Record<string, FakeTCPPortHandler>;
  Web?: Record<string, { Handlers: Record<string, { Path?: string; Proxy?: string; Text?: string }> }>;
  AllowFunnel?: Record<string, boolean>;
  /** Foreground (`serve` without --bg) configs by IPN bus session ID. */
  Foreground?: Record<string, FakeServeConfig>;
}

/** Write the fake's world atomically, so a running fake never reads half a file. */
export function writeTailscaleState(file: string, state: FakeTailscaleState): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(state, null, 2));
  renameSync(temp, file);
}

/** Read the fake's world; undefined when the file is missing or unreadable (no daemon). */
export function readTailscaleState(file: string | undefined): FakeTailscaleState | undefined {
  if (!file) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as FakeTailscaleState;
  } catch {
    return undefined;
  }
}

/** Change one node of a state file in place (e.g. take a peer offline). */
export function updateTailscalePeer(
  file: string,
  hostName: string,
  change: Partial<FakeTailscaleNode>,
): void {
  const state = readTailscaleState(file);
  if (!state) throw new Error(`[tunnelmux] [testkit] cannot read the fake tailscale state ${file}`);
  const peer = state.Peers.find((p) => p.HostName === hostName);
  if (!peer) throw new Error(`[tunnelmux] [testkit] no peer ${hostName} in ${file}`);
  Object.assign(peer, change);
  writeTailscaleState(file, state);
}

/** Read, change and write back the whole state (keeps serve config and forwarders a fresh state would drop). */
export function updateTailscaleState(file: string, change: (state: FakeTailscaleState) => void): void {
  const state = readTailscaleState(file);
  if (!state) throw new Error(`[tunnelmux] [testkit] cannot read the fake tailscale state ${file}`);
  change(state);
  writeTailscaleState(file, state);
}

/** A small default tailnet: this machine `laptop`, and online peers `devbox` (direct) and `server` (DERP). */
export function defaultTailscaleState(overrides: Partial<FakeTailscaleState> = {}): FakeTailscaleState {
  return {
    version: '1.88.1',
    BackendState: 'Running',
    TUN: true,
    MagicDNSSuffix: 'tail1234.ts.net',
    Self: { HostName: 'laptop', TailscaleIPs: ['100.101.102.103', 'fd7a:115c:a1e0::1'] },
    Peers: [
      {
        HostName: 'devbox',
        TailscaleIPs: ['100.64.0.2', 'fd7a:115c:a1e0::2'],
        CurAddr: '198.51.100.7:41641',
      },
      { HostName: 'server', TailscaleIPs: ['100.64.0.3', 'fd7a:115c:a1e0::3'], Relay: 'fra' },
    ],
    ...overrides,
  };
}

/** The node's MagicDNS name, with the trailing dot. */
export function dnsNameOf(node: FakeTailscaleNode, suffix: string | undefined): string {
  if (node.DNSName) return node.DNSName;
  const label = node.HostName.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  return `${label}.${suffix ?? 'tail1234.ts.net'}.`;
}

/** A stable fake node key, `nodekey:<64 hex>`. */
export function nodeKeyOf(node: FakeTailscaleNode): string {
  return `nodekey:${createHash('sha256').update(node.HostName).digest('hex')}`;
}
