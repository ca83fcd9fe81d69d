import { monotonicNow } from '../async/monotonic';

/** Per-peer slow-down after failed key proofs: doubling delay, forgotten after a quiet minute, bounded map. */
export function createPeerPenalty(
  options: { baseMs?: number; maxMs?: number; forgetMs?: number; maxPeers?: number } = {},
) {
  const baseMs = options.baseMs ?? 250;
  const maxMs = options.maxMs ?? 8000;
  const forgetMs = options.forgetMs ?? 60_000;
  const maxPeers = options.maxPeers ?? 10_000;
  const peers = new Map<string, { failures: number; last: number }>();

  const current = (peer: string, now: number) => {
    const entry = peers.get(peer);
    if (entry && now - entry.last > forgetMs) {
      peers.delete(peer);
      return undefined;
    }
    return entry;
  };
  const delayOf = (failures: number) => (failures <= 0 ? 0 : Math.min(maxMs, baseMs * 2 ** (failures - 1)));

  return {
    /** How long a new handshake from `peer` waits before it is read. */
    delayFor(peer: string, now = monotonicNow()): number {
      return delayOf(current(peer, now)?.failures ?? 0);
    },
    /** Record a failed proof; returns the failures so far and the delay before the refusal. */
    fail(peer: string, now = monotonicNow()): { failures: number; delayMs: number } {
      const failures = (current(peer, now)?.failures ?? 0) + 1;
      peers.delete(peer);
      if (peers.size >= maxPeers) peers.delete(peers.keys().next().value as string);
      peers.set(peer, { failures, last: now });
      return { failures, delayMs: delayOf(failures) };
    },
    succeed(peer: string): void {
      peers.delete(peer);
    },
  };
}
