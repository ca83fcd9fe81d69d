import type { Duplex } from 'node:stream';
import { FrameReader } from './crypto';
import { SessionError } from './errors';
import { decodeFrame } from './frames';
import { clientHandshake } from './handshake';
import { DEFAULTS } from './limits';

export interface RelayProbeResult {
  /** The relay proved the key and its target accepted a connection. */
  ok: boolean;
  message: string;
}

/**
 * Probe a relay over `socket` (a carrier through some path): prove the key both ways, ask whether the
 * relay's target is reachable. Holds no session. Throws SessionError when the key or handshake fails.
 */
export async function probeRelay(
  socket: Duplex,
  options: { key: Buffer; timeoutMs?: number },
): Promise<RelayProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULTS.handshakeTimeoutMs + DEFAULTS.targetTimeoutMs;
  try {
    const keys = await clientHandshake(socket, { key: options.key, mode: 'probe', timeoutMs });
    const reader = new FrameReader();
    reader.push(keys.leftover);
    return await new Promise<RelayProbeResult>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new SessionError('handshake-timeout', `no probe answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const check = () => {
        try {
          const next = reader.next();
          if (!next) return;
          const frame = decodeFrame(keys.opener.open(next.header, next.sealed));
          if (frame.type !== 'probe-result')
            throw new SessionError('protocol', `expected a probe result, got ${frame.type}`);
          clearTimeout(timer);
          resolve({ ok: frame.ok, message: frame.message });
        } catch (error) {
          fail(error as Error);
        }
      };
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        check();
      });
      socket.on('error', (error) =>
        fail(new SessionError('carrier', `the probe carrier failed: ${error.message}`)),
      );
      socket.on('close', () =>
        fail(new SessionError('carrier', 'the relay closed the probe without an answer')),
      );
      check();
      socket.resume();
    });
  } finally {
    socket.destroy();
  }
}
