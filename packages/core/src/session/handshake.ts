import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { CarrierReader } from './carrier-reader';
import { deriveKey, FrameOpener, FrameSealer, proofMatches, proveTranscript } from './crypto';
import { SessionError, type SessionFailure } from './errors';
import { MAGIC, NONCE_BYTES, PROOF_BYTES, PROTOCOL_VERSION, SESSION_ID_BYTES } from './limits';

export type HandshakeMode = 'open' | 'resume' | 'probe';

const MODE_BYTE: Record<HandshakeMode, number> = { open: 1, resume: 2, probe: 3 };
const MODE_OF = new Map<number, HandshakeMode>([
  [1, 'open'],
  [2, 'resume'],
  [3, 'probe'],
]);

/** Status bytes a relay answers with; anything but `ok` is followed by the relay closing the carrier. */
export const Status = { ok: 0, version: 1, unknownSession: 2, busy: 3, keyRefused: 4, bad: 5 } as const;

const REFUSAL: Record<number, [SessionFailure, string]> = {
  [Status.version]: ['unsupported-version', `the relay does not speak session protocol v${PROTOCOL_VERSION}`],
  [Status.unknownSession]: [
    'unknown-session',
    'the relay does not know this session (it restarted, or the window expired)',
  ],
  [Status.busy]: ['busy', 'the relay is at its session limit'],
  [Status.keyRefused]: ['key-refused', 'the relay refused the key: both sides must use the same key file'],
  [Status.bad]: ['bad-handshake', 'the relay refused the handshake as malformed'],
};

function refusal(status: number): SessionError {
  const [reason, message] = REFUSAL[status] ?? [
    'bad-handshake',
    `the relay answered with unknown status ${status}`,
  ];
  return new SessionError(reason, message);
}

/** What both sides hold after a verified handshake: sealed frames each way and the session secret. */
export interface CarrierKeys {
  mode: HandshakeMode;
  sealer: FrameSealer;
  opener: FrameOpener;
  /** Resumes prove knowledge of this secret; for `open` it is new, for `resume` the session's. */
  sessionSecret: Buffer;
  /** The session id a resume named (relay side). */
  sessionId?: Buffer;
  /** Bytes that arrived after the handshake, to feed the frame reader first. */
  leftover: Buffer;
}

function keysFor(mode: HandshakeMode, master: Buffer, sessionSecret: Buffer | undefined, salt: Buffer) {
  // open and probe prove the shared key; resume proves the session's secret, which only its two ends hold.
  const base = mode === 'resume' ? (sessionSecret as Buffer) : master;
  const authKey = deriveKey(base, salt, `${mode} auth`);
  const secret = mode === 'resume' ? (sessionSecret as Buffer) : deriveKey(master, salt, `${mode} secret`);
  // Fresh keys per carrier: nonces never repeat under a key, and a frame of an old carrier never opens on a new one.
  return {
    authKey,
    secret,
    clientToRelay: deriveKey(secret, salt, 'client to relay'),
    relayToClient: deriveKey(secret, salt, 'relay to client'),
  };
}

function withTimeout<T>(socket: Duplex, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new SessionError('handshake-timeout', `the handshake did not finish within ${ms} ms`));
      socket.destroy();
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface ClientHandshakeOptions {
  key: Buffer;
  mode: HandshakeMode;
  /** For `resume`: the session's id and secret. */
  session?: { id: Buffer; secret: Buffer };
  timeoutMs: number;
}

/** The client's half: send a fresh nonce, check the relay's proof, prove ours. Throws SessionError. */
export function clientHandshake(socket: Duplex, options: ClientHandshakeOptions): Promise<CarrierKeys> {
  const reader = new CarrierReader(socket);
  const run = async (): Promise<CarrierKeys> => {
    const clientNonce = randomBytes(NONCE_BYTES);
    const hello = Buffer.concat([
      MAGIC,
      Buffer.of(PROTOCOL_VERSION, MODE_BYTE[options.mode]),
      clientNonce,
      options.mode === 'resume' ? (options.session?.id as Buffer) : Buffer.alloc(0),
    ]);
    socket.write(hello);
    const head = await reader.read(MAGIC.length + 2);
    if (!head.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new SessionError('bad-handshake', 'the far end is not a tunnelmux relay (no session greeting)');
    }
    const status = head[MAGIC.length + 1] as number;
    if (status !== Status.ok) throw refusal(status);
    const challenge = await reader.read(NONCE_BYTES + PROOF_BYTES);
    const relayNonce = challenge.subarray(0, NONCE_BYTES);
    const transcript = Buffer.concat([hello, head, relayNonce]);
    const salt = Buffer.concat([clientNonce, relayNonce]);
    const keys = keysFor(options.mode, options.key, options.session?.secret, salt);
    socket.write(proveTranscript(keys.authKey, 'client', transcript));
    if (!proofMatches(proveTranscript(keys.authKey, 'relay', transcript), challenge.subarray(NONCE_BYTES))) {
      throw new SessionError(
        'key-refused',
        options.mode === 'resume'
          ? 'the relay could not prove the session keys'
          : 'the relay could not prove the shared key: both sides must use the same key file',
      );
    }
    const [verdict] = await reader.read(1);
    if (verdict !== Status.ok) throw refusal(verdict as number);
    return {
      mode: options.mode,
      sealer: new FrameSealer(keys.clientToRelay),
      opener: new FrameOpener(keys.relayToClient),
      sessionSecret: keys.secret,
      leftover: reader.release(),
    };
  };
  return withTimeout(socket, options.timeoutMs, run()).catch((error: unknown) => {
    reader.release();
    throw error;
  });
}

export interface RelayHandshakeOptions {
  key: Buffer;
  timeoutMs: number;
  /** The secret of a live session, or undefined when the id is unknown. */
  lookup(sessionId: Buffer): Buffer | undefined;
  /** A reason to refuse this mode now (limits), checked before any proof. */
  admit(mode: HandshakeMode): 'busy' | undefined;
}

/** Answer a refused handshake with its status byte, then close. */
export function refuse(socket: Duplex, status: number, greeting: boolean): void {
  socket.end(greeting ? Buffer.concat([MAGIC, Buffer.of(PROTOCOL_VERSION, status)]) : Buffer.of(status));
}

/**
 * The relay's half. On a wrong proof it throws `key-refused` WITHOUT answering, so the caller can slow the
 * peer down before `refuse(socket, Status.keyRefused, false)`; other refusals are answered here.
 */
export function relayHandshake(socket: Duplex, options: RelayHandshakeOptions): Promise<CarrierKeys> {
  const reader = new CarrierReader(socket, 1024);
  const run = async (): Promise<CarrierKeys> => {
    const head = await reader.read(MAGIC.length + 2);
    if (!head.subarray(0, MAGIC.length).equals(MAGIC)) {
      socket.destroy();
      throw new SessionError(
        'bad-handshake',
        'the peer did not send a session greeting (not a tunnelmux client)',
      );
    }
    if (head[MAGIC.length] !== PROTOCOL_VERSION) {
      refuse(socket, Status.version, true);
      throw new SessionError(
        'unsupported-version',
        `the peer speaks session protocol v${String(head[MAGIC.length])}`,
      );
    }
    const mode = MODE_OF.get(head[MAGIC.length + 1] as number);
    if (!mode) {
      refuse(socket, Status.bad, true);
      throw new SessionError('bad-handshake', `unknown handshake mode ${String(head[MAGIC.length + 1])}`);
    }
    const clientNonce = await reader.read(NONCE_BYTES);
    const sessionId = mode === 'resume' ? Buffer.from(await reader.read(SESSION_ID_BYTES)) : undefined;
    const hello = Buffer.concat([head, clientNonce, sessionId ?? Buffer.alloc(0)]);
    const sessionSecret = sessionId ? options.lookup(sessionId) : undefined;
    if (sessionId && !sessionSecret) {
      refuse(socket, Status.unknownSession, true);
      throw new SessionError('unknown-session', 'a resume named a session this relay does not hold');
    }
    if (options.admit(mode) === 'busy') {
      refuse(socket, Status.busy, true);
      throw new SessionError('busy', `refused a ${mode}: at the session limit`);
    }
    const relayNonce = randomBytes(NONCE_BYTES);
    const replyHead = Buffer.concat([MAGIC, Buffer.of(PROTOCOL_VERSION, Status.ok)]);
    const transcript = Buffer.concat([hello, replyHead, relayNonce]);
    const salt = Buffer.concat([clientNonce, relayNonce]);
    const keys = keysFor(mode, options.key, sessionSecret, salt);
    socket.write(Buffer.concat([replyHead, relayNonce, proveTranscript(keys.authKey, 'relay', transcript)]));
    const clientProof = await reader.read(PROOF_BYTES);
    if (!proofMatches(proveTranscript(keys.authKey, 'client', transcript), clientProof)) {
      throw new SessionError(
        'key-refused',
        mode === 'resume'
          ? 'a resume did not prove the session keys'
          : 'the peer did not prove the shared key',
      );
    }
    socket.write(Buffer.of(Status.ok));
    return {
      mode,
      sealer: new FrameSealer(keys.relayToClient),
      opener: new FrameOpener(keys.clientToRelay),
      sessionSecret: keys.secret,
      sessionId,
      leftover: reader.release(),
    };
  };
  return withTimeout(socket, options.timeoutMs, run()).catch((error: unknown) => {
    reader.release();
    throw error;
  });
}
