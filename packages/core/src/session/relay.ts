import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { monotonicNow } from '../async/monotonic';
import { errorMessage } from '../errors';
import { dialTcp, formatTarget } from '../net/tcp';
import type { Target } from '../provider/types';
import { SessionError } from './errors';
import { type CarrierKeys, refuse, relayHandshake, Status } from './handshake';
import { DEFAULTS, SESSION_ID_BYTES } from './limits';
import { createPeerPenalty } from './peer-penalty';
import { endWithFrame, SessionStream } from './stream';

export type RelayEvent =
  | { type: 'listening'; address: string; target: string }
  | { type: 'session-opened'; session: string; peer: string }
  | { type: 'carrier-lost'; session: string; reason: string }
  | { type: 'session-resumed'; session: string; peer: string; stallMs: number; replayedBytes: number }
  | {
      type: 'session-lost';
      session: string;
      reason: 'window-expired' | 'too-many-detached' | 'relay-stopped';
      message: string;
    }
  | {
      type: 'session-closed';
      session: string;
      how: 'complete' | 'reset';
      message?: string;
      bytesIn: number;
      bytesOut: number;
    }
  | { type: 'key-refused'; peer: string; mode: string; failures: number; delayMs: number }
  | { type: 'handshake-failed'; peer: string; reason: string; message: string }
  | { type: 'target-unreachable'; session?: string; peer: string; message: string }
  | { type: 'probe'; peer: string; ok: boolean; message: string };

export interface RelayOptions {
  /** The real service (sshd, postgres, ...). */
  target: Target;
  /** Where paths reach the relay; port 0 picks a free one. */
  listen: Target;
  /** The 32-byte shared key (readSessionKeyFile). */
  key: Buffer;
  /** How long a detached session keeps its target connection (default 60 s). */
  windowMs?: number;
  bufferBytes?: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  /** Live sessions, attached or not (default 1000). */
  maxSessions?: number;
  /** Sessions waiting for a resume (default 256); beyond it a newly detached session ends. */
  maxDetached?: number;
  /** Handshakes in progress at once (default 64); more connections are closed unanswered. */
  maxHandshakes?: number;
  targetTimeoutMs?: number;
  onEvent?(event: RelayEvent): void;
}

/** Resume stall buckets (ms), Prometheus-style upper bounds. */
export const STALL_BUCKETS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000] as const;

export interface RelayMetrics {
  sessionsLive: number;
  sessionsDetached: number;
  sessionsOpened: number;
  resumes: number;
  replayedBytes: number;
  keyRefusals: number;
  handshakesRefused: number;
  sessionsLost: Record<'window-expired' | 'too-many-detached' | 'relay-stopped', number>;
  /** Counts per STALL_BUCKETS_MS bound (cumulative, like Prometheus), with sum and count. */
  stallMs: { buckets: number[]; sum: number; count: number };
}

export interface RelaySessionInfo {
  id: string;
  peer: string;
  attached: boolean;
  openedAt: number;
  detachedForMs?: number;
  resumes: number;
  bytesIn: number;
  bytesOut: number;
  unacked: number;
}

export interface Relay {
  readonly address: Target;
  sessions(): RelaySessionInfo[];
  metrics(): RelayMetrics;
  /** Stop listening, end every session (target connections closed) and wait for the listener to close. */
  close(): Promise<void>;
}

interface RelaySession {
  id: Buffer;
  hex: string;
  secret: Buffer;
  stream: SessionStream;
  peer: string;
  openedAt: number;
  detachedAt?: number;
  windowTimer?: NodeJS.Timeout;
  resumes: number;
  carriers: number;
}

/** Start a relay in front of `target`: it holds each target connection while its session is detached. */
export async function createRelay(options: RelayOptions): Promise<Relay> {
  const windowMs = options.windowMs ?? DEFAULTS.windowMs;
  const limits = {
    bufferBytes: options.bufferBytes ?? DEFAULTS.bufferBytes,
    heartbeatMs: options.heartbeatMs ?? DEFAULTS.heartbeatMs,
    deadAfterMs: options.deadAfterMs ?? DEFAULTS.deadAfterMs,
  };
  const maxSessions = options.maxSessions ?? DEFAULTS.maxSessions;
  const maxDetached = options.maxDetached ?? DEFAULTS.maxDetached;
  const maxHandshakes = options.maxHandshakes ?? DEFAULTS.maxHandshakes;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs;
  const targetTimeoutMs = options.targetTimeoutMs ?? DEFAULTS.targetTimeoutMs;
  const emit = (event: RelayEvent) => options.onEvent?.(event);
  const sessions = new Map<string, RelaySession>();
  // Sessions that completed here, for one window: their client may have lost our last acknowledgement with its
  // carrier and resume to get it. Oldest first; no more than maxSessions.
  const completed = new Map<string, { session: RelaySession; timer: NodeJS.Timeout }>();
  const handshaking = new Set<net.Socket>();
  const penalty = createPeerPenalty();
  let stopping = false;
  const metrics: RelayMetrics = {
    sessionsLive: 0,
    sessionsDetached: 0,
    sessionsOpened: 0,
    resumes: 0,
    replayedBytes: 0,
    keyRefusals: 0,
    handshakesRefused: 0,
    sessionsLost: { 'window-expired': 0, 'too-many-detached': 0, 'relay-stopped': 0 },
    stallMs: { buckets: STALL_BUCKETS_MS.map(() => 0), sum: 0, count: 0 },
  };

  const detachedCount = () => [...sessions.values()].filter((s) => !s.stream.attached).length;

  const observeStall = (ms: number) => {
    metrics.stallMs.sum += ms;
    metrics.stallMs.count++;
    STALL_BUCKETS_MS.forEach((bound, index) => {
      if (ms <= bound) metrics.stallMs.buckets[index] = (metrics.stallMs.buckets[index] ?? 0) + 1;
    });
  };

  const lose = (session: RelaySession, reason: keyof RelayMetrics['sessionsLost'], message: string) => {
    if (session.stream.done) return;
    metrics.sessionsLost[reason]++;
    emit({ type: 'session-lost', session: session.hex, reason, message });
    session.stream.abort(message);
  };

  const startSession = (socket: net.Socket, keys: CarrierKeys, target: net.Socket, peer: string) => {
    const id = randomBytes(SESSION_ID_BYTES);
    const stream = new SessionStream(target, { role: 'relay', sessionId: id, windowMs, ...limits });
    const session: RelaySession = {
      id,
      hex: id.toString('hex'),
      secret: keys.sessionSecret,
      stream,
      peer,
      openedAt: Date.now(),
      resumes: 0,
      carriers: 0,
    };
    sessions.set(session.hex, session);
    metrics.sessionsOpened++;
    stream.on('carrier-lost', ({ reason }) => {
      session.detachedAt = monotonicNow();
      emit({ type: 'carrier-lost', session: session.hex, reason });
      if (detachedCount() > maxDetached) {
        return lose(session, 'too-many-detached', `more than ${maxDetached} sessions wait for a resume`);
      }
      clearTimeout(session.windowTimer);
      session.windowTimer = setTimeout(
        () =>
          lose(
            session,
            'window-expired',
            `no resume within the ${windowMs} ms window: target connection closed`,
          ),
        windowMs,
      );
    });
    stream.on('ready', ({ replayedBytes }) => {
      clearTimeout(session.windowTimer);
      session.windowTimer = undefined;
      session.carriers++;
      if (session.carriers === 1) {
        emit({ type: 'session-opened', session: session.hex, peer });
        return;
      }
      // The stall as the relay saw it: from noticing the loss to the verified resume (0 if it never noticed).
      const stallMs = session.detachedAt === undefined ? 0 : monotonicNow() - session.detachedAt;
      session.detachedAt = undefined;
      session.resumes++;
      metrics.resumes++;
      metrics.replayedBytes += replayedBytes;
      observeStall(stallMs);
      emit({ type: 'session-resumed', session: session.hex, peer: session.peer, stallMs, replayedBytes });
    });
    stream.on('done', (outcome) => {
      clearTimeout(session.windowTimer);
      sessions.delete(session.hex);
      if (outcome.kind === 'complete') remember(session);
      const { sent, received } = stream.stats;
      emit({
        type: 'session-closed',
        session: session.hex,
        how: outcome.kind,
        message: outcome.kind === 'reset' ? outcome.reason : undefined,
        bytesIn: received,
        bytesOut: sent,
      });
    });
    stream.attach(socket, keys);
  };

  const remember = (session: RelaySession) => {
    if (completed.size >= maxSessions) {
      const [oldest, entry] = completed.entries().next().value as [string, { timer: NodeJS.Timeout }];
      clearTimeout(entry.timer);
      completed.delete(oldest);
    }
    const timer = setTimeout(() => completed.delete(session.hex), windowMs);
    timer.unref();
    completed.set(session.hex, { session, timer });
  };

  /** A live session, or one that completed within the window (it only answers with its last acknowledgement). */
  const resumable = (hex: string) => {
    const live = sessions.get(hex);
    if (live && !live.stream.done) return live;
    return completed.get(hex)?.session;
  };

  const onCarrier = async (socket: net.Socket) => {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const peerHost = socket.remoteAddress ?? '?';
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    if (stopping || handshaking.size >= maxHandshakes) {
      metrics.handshakesRefused++;
      socket.destroy();
      return;
    }
    handshaking.add(socket);
    let keys: CarrierKeys;
    try {
      // A peer that recently failed the key waits before it may try again.
      const wait = penalty.delayFor(peerHost);
      if (wait > 0) await sleep(wait);
      keys = await relayHandshake(socket, {
        key: options.key,
        timeoutMs: handshakeTimeoutMs,
        lookup: (id) => resumable(id.toString('hex'))?.secret,
        admit: (mode) => (mode === 'open' && sessions.size >= maxSessions ? 'busy' : undefined),
      });
    } catch (error) {
      const reason = error instanceof SessionError ? error.reason : 'carrier';
      if (reason === 'key-refused') {
        metrics.keyRefusals++;
        const { failures, delayMs } = penalty.fail(peerHost);
        emit({ type: 'key-refused', peer, mode: 'handshake', failures, delayMs });
        // Slow down guessing: answer the refusal late, then close.
        await sleep(delayMs);
        if (!socket.destroyed) refuse(socket, Status.keyRefused, false);
      } else {
        if (reason === 'busy') metrics.handshakesRefused++;
        emit({ type: 'handshake-failed', peer, reason, message: errorMessage(error) });
        socket.destroy();
      }
      return;
    } finally {
      handshaking.delete(socket);
    }
    penalty.succeed(peerHost);
    if (stopping) {
      socket.destroy();
      return;
    }
    if (keys.mode === 'probe') {
      const result = await dialTcp(options.target, { timeoutMs: targetTimeoutMs }).then(
        (target) => {
          target.destroy();
          return { ok: true, message: `${formatTarget(options.target)} accepts connections` };
        },
        (error: unknown) => ({
          ok: false,
          message: `${formatTarget(options.target)}: ${errorMessage(error)}`,
        }),
      );
      emit({ type: 'probe', peer, ...result });
      endWithFrame(socket, keys.sealer, { type: 'probe-result', ...result });
      return;
    }
    if (keys.mode === 'resume') {
      const session = resumable((keys.sessionId as Buffer).toString('hex'));
      if (!session) {
        socket.destroy();
        return;
      }
      session.peer = peer;
      // Only now, with the new carrier verified, is the old one (if any) closed.
      session.stream.attach(socket, keys);
      return;
    }
    let target: net.Socket;
    try {
      target = await dialTcp(options.target, { timeoutMs: targetTimeoutMs });
    } catch (error) {
      const message = `the relay's target ${formatTarget(options.target)} is unreachable: ${errorMessage(error)}`;
      emit({ type: 'target-unreachable', peer, message });
      endWithFrame(socket, keys.sealer, { type: 'reset', reason: message });
      return;
    }
    if (stopping || socket.destroyed) {
      target.destroy();
      socket.destroy();
      return;
    }
    startSession(socket, keys, target, peer);
  };

  const server = net.createServer((socket) => void onCarrier(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.listen.host, port: options.listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  const address: Target = { host: options.listen.host, port: bound.port };
  emit({ type: 'listening', address: formatTarget(address), target: formatTarget(options.target) });

  return {
    address,
    sessions: () =>
      [...sessions.values()].map((s) => ({
        id: s.hex,
        peer: s.peer,
        attached: s.stream.attached,
        openedAt: s.openedAt,
        detachedForMs: s.detachedAt === undefined ? undefined : monotonicNow() - s.detachedAt,
        resumes: s.resumes,
        bytesIn: s.stream.stats.received,
        bytesOut: s.stream.stats.sent,
        unacked: s.stream.stats.unacked,
      })),
    metrics: () => {
      const live = [...sessions.values()];
      return {
        ...metrics,
        sessionsLive: live.length,
        sessionsDetached: live.filter((s) => !s.stream.attached).length,
        sessionsLost: { ...metrics.sessionsLost },
        stallMs: { ...metrics.stallMs, buckets: [...metrics.stallMs.buckets] },
      };
    },
    async close() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of handshaking) socket.destroy();
      for (const session of [...sessions.values()]) lose(session, 'relay-stopped', 'the relay is stopping');
      for (const { timer } of completed.values()) clearTimeout(timer);
      completed.clear();
      await closed;
    },
  };
}
