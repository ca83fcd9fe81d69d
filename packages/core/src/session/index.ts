/**
 * Resumable sessions: a byte stream between the front door and a relay that survives the death of the
 * path it runs over. Protocol and threat model: docs/sessions.md.
 */

// How a manager is told to resume (ManagerConfig.resume) and what status reports of each live session.
export type { LiveSession, ResumeSettings } from '../front-door/resume-carrier';
export {
  type CarrierRequest,
  type ClientSessionEvent,
  type ClientSessionOutcome,
  type ResumableSession,
  type ResumableSessionOptions,
  resumableSession,
  type SessionCarrier,
  type SessionLostReason,
} from './client';
export { SessionError, type SessionFailure } from './errors';
export { type CarrierKeys, clientHandshake, type HandshakeMode, relayHandshake } from './handshake';
export { formatSessionKey, generateSessionKey, readSessionKeyFile, writeSessionKeyFile } from './key-file';
export { DEFAULTS as SESSION_DEFAULTS, PROTOCOL_VERSION as SESSION_PROTOCOL_VERSION } from './limits';
export { probeRelay, type RelayProbeResult } from './probe';
export { createRelayPrometheus } from './prometheus';
export {
  createRelay,
  type Relay,
  type RelayEvent,
  type RelayMetrics,
  type RelayOptions,
  type RelaySessionInfo,
  STALL_BUCKETS_MS,
} from './relay';
export { SessionStream, type SessionStreamOptions, type StreamOutcome } from './stream';
