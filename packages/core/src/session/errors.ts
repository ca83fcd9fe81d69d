import { TunnelmuxError, type TunnelmuxErrorOptions } from '../errors';

/** Why a handshake or a session was refused or ended; stable, for events and metrics. */
export type SessionFailure =
  | 'key-refused'
  | 'unknown-session'
  | 'unsupported-version'
  | 'busy'
  | 'bad-handshake'
  | 'handshake-timeout'
  | 'window-expired'
  | 'protocol'
  | 'carrier';

/** A session or handshake failure with its machine-readable `reason`. */
export class SessionError extends TunnelmuxError {
  override name = 'SessionError';
  readonly reason: SessionFailure;

  constructor(reason: SessionFailure, message: string, options: TunnelmuxErrorOptions = {}) {
    super(`[session] ${message}`, {
      ...options,
      fatal: options.fatal ?? reason === 'key-refused',
      code: options.code ?? `ERR_SESSION_${reason.toUpperCase().replaceAll('-', '_')}`,
    });
    this.reason = reason;
  }
}
