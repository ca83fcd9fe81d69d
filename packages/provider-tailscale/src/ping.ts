import type { CheckResult } from '@tunnelmux/core';
import type { CommandResult } from './cli';
import { parseGoDuration } from './duration';

/** One `pong from <name> (<ip>) via <path> in <latency>` line (cli/ping.go). */
export interface Pong {
  name: string;
  ip: string;
  /** `DERP(nyc)`, `198.51.100.7:41641` or `peer-relay(…)`, as printed. */
  via: string;
  /** direct = a UDP path between the two nodes; derp = relayed by a DERP server; peer-relay = through another node. */
  path: 'direct' | 'derp' | 'peer-relay';
  /** DERP region code, for `derp`. */
  region?: string;
  latencyMs: number;
}

const PONG = /^pong from (\S+) \(([^)]*)\) via (\S+) in (\S+)\s*$/;

/** Parse one pong line; undefined for any other line. */
export function parsePong(line: string): Pong | undefined {
  const match = PONG.exec(line.trim());
  if (!match) return undefined;
  const [, name, inside, via, latencyText] = match as unknown as [string, string, string, string, string];
  const latencyMs = parseGoDuration(latencyText);
  if (latencyMs === undefined) return undefined;
  // The parentheses may carry ", <peerapi port>" after the IP.
  const ip = inside.split(',')[0]!.trim();
  const derp = /^DERP\(([^)]*)\)$/.exec(via);
  if (derp) return { name, ip, via, path: 'derp', region: derp[1], latencyMs };
  if (via.startsWith('peer-relay(')) return { name, ip, via, path: 'peer-relay', latencyMs };
  return { name, ip, via, path: 'direct', latencyMs };
}

/** Turn a finished `tailscale ping --c 1 --until-direct=false` into a health hint. */
export function interpretPing(result: Pick<CommandResult, 'code' | 'stdout' | 'stderr'>): CheckResult {
  const lines = result.stdout.split(/\r?\n/);
  const pongs = lines.map(parsePong).filter((pong): pong is Pong => pong !== undefined);
  const last = pongs.at(-1);
  if (last) {
    const how =
      last.path === 'direct'
        ? `direct via ${last.via}`
        : last.path === 'derp'
          ? `relayed via DERP(${last.region})`
          : `relayed via ${last.via}`;
    // Exit 1 after pongs means --until-direct saw only relayed pongs: the peer answers, just not directly.
    const note =
      result.code === 0 ? '' : `; ${result.stderr.trim() || 'tailscale ping exited ' + result.code}`;
    return {
      ok: true,
      latencyMs: last.latencyMs,
      detail: `pong from ${last.name} ${how} in ${last.latencyMs} ms${note}`,
    };
  }
  const timedOut = lines.find((line) => /^ping ".*" timed out$/.test(line.trim()));
  if (timedOut) {
    const reason = result.stderr.trim();
    return { ok: false, detail: `${timedOut.trim()}${reason ? ` (${reason})` : ''}` };
  }
  const said = [result.stdout.trim(), result.stderr.trim()].filter(Boolean).join('; ');
  return { ok: false, detail: `tailscale ping failed (exit ${result.code}): ${said || 'no output'}` };
}
