/** Protocol constants and default limits of resumable sessions (docs/sessions.md). */

/** The 8 bytes every handshake starts with, then the protocol version. */
export const MAGIC = Buffer.from('TMUXSESS', 'latin1');
export const PROTOCOL_VERSION = 1;

/** Shared key, nonces, proofs and derived keys are all 32 bytes; session ids 16 (128 bits). */
export const KEY_BYTES = 32;
export const NONCE_BYTES = 32;
export const PROOF_BYTES = 32;
export const SESSION_ID_BYTES = 16;
export const TAG_BYTES = 16;

/** Largest payload one DATA frame carries, and the largest sealed frame a reader accepts. */
export const MAX_PAYLOAD = 64 * 1024;
export const FRAME_OVERHEAD = 1 + 8 + 8 + TAG_BYTES;
export const MAX_FRAME = MAX_PAYLOAD + FRAME_OVERHEAD + 1024;

/**
 * Bytes a stream lets a socket's write queue hold before it waits for 'drain' (Node's 16 KiB mark would
 * stop after every 64 KiB frame); the queue stays bounded by this plus one frame.
 */
export const WRITE_AHEAD = 256 * 1024;

/** Defaults a user can change (resume: window, buffer, heartbeat). */
export const DEFAULTS = {
  windowMs: 60_000,
  bufferBytes: 4 * 1024 * 1024,
  heartbeatMs: 1000,
  deadAfterMs: 3000,
  handshakeTimeoutMs: 5000,
  maxSessions: 1000,
  maxDetached: 256,
  maxHandshakes: 64,
  targetTimeoutMs: 5000,
} as const;

export interface StreamLimits {
  /** Unacknowledged bytes kept for replay each way; a full buffer pauses the sender (never drops). */
  bufferBytes: number;
  /** How often an idle carrier sends a heartbeat. */
  heartbeatMs: number;
  /** A carrier that delivers no frame for this long is dead (black hole). */
  deadAfterMs: number;
}
