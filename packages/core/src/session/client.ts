import type { Duplex } from 'node:stream';
import { monotonicNow } from '../async/monotonic';
import { errorMessage } from '../errors';
import { SessionError } from './errors';
import { type CarrierKeys, clientHandshake } from './handshake';
import { DEFAULTS } from './limits';
import { SessionStream } from './stream';

/** A fresh carrier to the relay: a connected socket through some path, and that path's name. */
export interface SessionCarrier {
  socket: Duplex;
  path?: string;
}

/** What the dial callback is asked for: a carrier to open or resume on, preferably not through `avoid`. */
export interface CarrierRequest {
  purpose: 'open' | 'resume';
  /** The path the session just left (or is leaving); pick another healthy one when there is one. */
  avoid?: string;
  signal: AbortSignal;
}

/** Why a client session ended without a clean close. */
export type SessionLostReason =
  | 'window-expired'
  | 'key-refused'
  | 'relay-restarted'
  | 'reset'
  | 'open-failed';

export type ClientSessionEvent =
  | { type: 'session-opened'; session: string; path?: string }
  | { type: 'carrier-lost'; session: string; path?: string; reason: string }
  | {
      type: 'session-resumed';
      session: string;
      from?: string;
      to?: string;
      stallMs: number;
      replayedBytes: number;
    }
  | { type: 'session-lost'; session: string; reason: SessionLostReason; message: string }
  | { type: 'session-closed'; session: string; bytesIn: number; bytesOut: number };

export type ClientSessionOutcome =
  | { kind: 'complete' }
  | { kind: 'lost'; reason: SessionLostReason; message: string };

export interface ResumableSessionOptions {
  /** The 32-byte shared key (readSessionKeyFile). */
  key: Buffer;
  /** Open a carrier to the relay through the next healthy path. Called again for each resume attempt. */
  dial(request: CarrierRequest): Promise<SessionCarrier>;
  /** Give up resuming after this long (default 60 s, never longer than the relay's window). */
  windowMs?: number;
  bufferBytes?: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  handshakeTimeoutMs?: number;
  /** Attempts to open the session before giving up (default 3). */
  openAttempts?: number;
  onEvent?(event: ClientSessionEvent): void;
}

export interface ResumableSession {
  /** The session id (hex) once the relay has welcomed it. */
  readonly id: string | undefined;
  /** The path currently carrying the session. */
  readonly path: string | undefined;
  /** Move to another carrier now (the current path left rotation); the old one closes once the new is verified. */
  migrate(): Promise<void>;
  /** Abort the session: the relay closes the target connection, the local socket is destroyed. */
  close(reason?: string): void;
  readonly done: Promise<ClientSessionOutcome>;
  stats(): { sent: number; received: number; unacked: number; replayed: number; attached: boolean };
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;

/**
 * Wrap one client socket in a resumable session to a relay. On carrier loss (crash, black hole seen by
 * heartbeats, or `migrate()`), dial again and resume until the window ends; the local socket stays open.
 */
export function resumableSession(local: Duplex, options: ResumableSessionOptions): ResumableSession {
  const limits = {
    bufferBytes: options.bufferBytes ?? DEFAULTS.bufferBytes,
    heartbeatMs: options.heartbeatMs ?? DEFAULTS.heartbeatMs,
    deadAfterMs: options.deadAfterMs ?? DEFAULTS.deadAfterMs,
  };
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs;
  let windowMs = options.windowMs ?? DEFAULTS.windowMs;
  const stream = new SessionStream(local, { role: 'client', ...limits });
  const controller = new AbortController();
  let id: Buffer | undefined;
  let idHex: string | undefined;
  let secret: Buffer | undefined;
  let path: string | undefined;
  let connecting = false;
  let pendingResume: { from?: string; to?: string; startedAt: number } | undefined;
  let resolveDone!: (outcome: ClientSessionOutcome) => void;
  const done = new Promise<ClientSessionOutcome>((resolve) => {
    resolveDone = resolve;
  });
  const emit = (event: ClientSessionEvent) => options.onEvent?.(event);

  const lose = (reason: SessionLostReason, message: string) => {
    if (stream.done) return;
    controller.abort();
    // Every byte is through both ways: a relay that can no longer hear our last ACK loses nothing of ours.
    if (stream.closing) return stream.abort(message);
    emit({ type: 'session-lost', session: idHex ?? '', reason, message });
    resolveDone({ kind: 'lost', reason, message });
    stream.abort(message);
  };

  stream.on('welcome', ({ sessionId, windowMs: relayWindow }) => {
    if (!id) {
      id = sessionId;
      idHex = sessionId.toString('hex');
      if (relayWindow > 0) windowMs = Math.min(windowMs, relayWindow);
      emit({ type: 'session-opened', session: idHex, path });
    }
  });
  stream.on('ready', ({ replayedBytes }) => {
    const resume = pendingResume;
    pendingResume = undefined;
    if (resume && idHex) {
      emit({
        type: 'session-resumed',
        session: idHex,
        from: resume.from,
        to: resume.to,
        stallMs: monotonicNow() - resume.startedAt,
        replayedBytes,
      });
    }
  });
  stream.on('carrier-lost', ({ reason }) => {
    emit({ type: 'carrier-lost', session: idHex ?? '', path, reason });
    void reconnect(path, monotonicNow());
  });
  stream.on('done', (outcome) => {
    controller.abort();
    if (outcome.kind === 'complete') {
      const { sent, received } = stream.stats;
      emit({ type: 'session-closed', session: idHex ?? '', bytesIn: received, bytesOut: sent });
      resolveDone({ kind: 'complete' });
    } else {
      const message = outcome.byPeer ? `the relay ended the session: ${outcome.reason}` : outcome.reason;
      if (outcome.byPeer) emit({ type: 'session-lost', session: idHex ?? '', reason: 'reset', message });
      resolveDone({ kind: 'lost', reason: 'reset', message });
    }
  });

  // One dial plus handshake; the carrier is attached only after the relay proved itself.
  const connectOnce = async (purpose: 'open' | 'resume', avoid?: string): Promise<void> => {
    const carrier = await options.dial({ purpose, avoid, signal: controller.signal });
    let keys: CarrierKeys;
    try {
      keys = await clientHandshake(carrier.socket, {
        key: options.key,
        mode: purpose,
        session: purpose === 'resume' ? { id: id as Buffer, secret: secret as Buffer } : undefined,
        timeoutMs: handshakeTimeoutMs,
      });
    } catch (error) {
      carrier.socket.destroy();
      throw error;
    }
    if (stream.done || controller.signal.aborted) {
      carrier.socket.destroy();
      return;
    }
    if (purpose === 'open') secret = keys.sessionSecret;
    if (purpose === 'resume')
      pendingResume = {
        ...pendingResume,
        to: carrier.path,
        startedAt: pendingResume?.startedAt ?? monotonicNow(),
      };
    path = carrier.path;
    stream.attach(carrier.socket, keys);
  };

  const reconnect = async (from: string | undefined, since: number): Promise<void> => {
    if (connecting || stream.done) return;
    connecting = true;
    const purpose = id ? 'resume' : 'open';
    if (purpose === 'resume') pendingResume = { from, startedAt: since };
    let delay = RETRY_MIN_MS;
    let attempts = 0;
    try {
      while (!stream.done && !controller.signal.aborted) {
        attempts++;
        try {
          await connectOnce(purpose, from);
          return;
        } catch (error) {
          if (error instanceof SessionError && error.reason === 'key-refused') {
            return lose('key-refused', error.message);
          }
          if (error instanceof SessionError && error.reason === 'unknown-session') {
            return lose('relay-restarted', error.message);
          }
          if (purpose === 'open' && attempts >= (options.openAttempts ?? 3)) {
            return lose('open-failed', `could not open a session to the relay: ${errorMessage(error)}`);
          }
          if (purpose === 'resume' && monotonicNow() - since >= windowMs) {
            return lose(
              'window-expired',
              `no resume within the ${windowMs} ms window: ${errorMessage(error)}`,
            );
          }
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, RETRY_MAX_MS);
        if (purpose === 'resume' && monotonicNow() - since >= windowMs) {
          return lose('window-expired', `no resume within the ${windowMs} ms window`);
        }
      }
    } finally {
      connecting = false;
    }
  };

  void reconnect(undefined, monotonicNow());

  return {
    get id() {
      return idHex;
    },
    get path() {
      return path;
    },
    async migrate() {
      if (connecting || stream.done || !id) return;
      connecting = true;
      pendingResume = { from: path, startedAt: monotonicNow() };
      try {
        await connectOnce('resume', path);
      } catch {
        // The current carrier still works; a failed move changes nothing.
        pendingResume = undefined;
      } finally {
        connecting = false;
        // The old carrier may have died while we moved: resume as after any loss.
        if (!stream.attached && !stream.done) void reconnect(path, monotonicNow());
      }
    },
    close(reason = 'closed by the client') {
      controller.abort();
      stream.abort(reason);
    },
    done,
    stats: () => stream.stats,
  };
}
