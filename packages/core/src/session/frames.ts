import { SessionError } from './errors';
import { SESSION_ID_BYTES } from './limits';

/** Frame types inside the sealed envelope (docs/sessions.md, "Frames"). */
export const FrameType = {
  data: 1,
  ack: 2,
  heartbeat: 3,
  fin: 4,
  reset: 5,
  welcome: 6,
  probeResult: 7,
  done: 8,
} as const;

/** Bytes before a DATA frame's payload: type, ack, offset. */
export const DATA_HEAD = 17;

export type Frame =
  | { type: 'data'; ack: number; offset: number; bytes: Buffer }
  | { type: 'ack'; ack: number }
  | { type: 'heartbeat'; ack: number }
  | { type: 'done'; ack: number }
  | { type: 'fin'; ack: number; offset: number }
  | { type: 'reset'; reason: string }
  | { type: 'welcome'; ack: number; sessionId: Buffer; windowMs: number }
  | { type: 'probe-result'; ok: boolean; message: string };

function writeU64(buffer: Buffer, value: number, at: number): void {
  buffer.writeUInt32BE(Math.floor(value / 2 ** 32), at);
  buffer.writeUInt32BE(value >>> 0, at + 4);
}

function readU64(buffer: Buffer, at: number): number {
  const high = buffer.readUInt32BE(at);
  if (high >= 2 ** 21)
    throw new SessionError('protocol', `a frame carried an offset above 2^53 (${high} << 32)`);
  return high * 2 ** 32 + buffer.readUInt32BE(at + 4);
}

/** The plaintext of one frame, in parts to seal as one (a DATA payload is not copied). */
export function encodeFrameParts(frame: Frame): Buffer[] {
  if (frame.type !== 'data') return [encodeFrame(frame)];
  const head = Buffer.allocUnsafe(17);
  head[0] = FrameType.data;
  writeU64(head, frame.ack, 1);
  writeU64(head, frame.offset, 9);
  return [head, frame.bytes];
}

/** The plaintext of one frame. */
export function encodeFrame(frame: Frame): Buffer {
  switch (frame.type) {
    case 'data': {
      const out = Buffer.allocUnsafe(17 + frame.bytes.length);
      out[0] = FrameType.data;
      writeU64(out, frame.ack, 1);
      writeU64(out, frame.offset, 9);
      frame.bytes.copy(out, 17);
      return out;
    }
    case 'ack':
    case 'heartbeat':
    case 'done': {
      const out = Buffer.allocUnsafe(9);
      out[0] = FrameType[frame.type];
      writeU64(out, frame.ack, 1);
      return out;
    }
    case 'fin': {
      const out = Buffer.allocUnsafe(17);
      out[0] = FrameType.fin;
      writeU64(out, frame.ack, 1);
      writeU64(out, frame.offset, 9);
      return out;
    }
    case 'reset':
      return Buffer.concat([Buffer.of(FrameType.reset), Buffer.from(frame.reason.slice(0, 500), 'utf8')]);
    case 'welcome': {
      const out = Buffer.allocUnsafe(9 + SESSION_ID_BYTES + 4);
      out[0] = FrameType.welcome;
      writeU64(out, frame.ack, 1);
      frame.sessionId.copy(out, 9);
      out.writeUInt32BE(frame.windowMs, 9 + SESSION_ID_BYTES);
      return out;
    }
    case 'probe-result':
      return Buffer.concat([
        Buffer.of(FrameType.probeResult, frame.ok ? 1 : 0),
        Buffer.from(frame.message.slice(0, 500), 'utf8'),
      ]);
  }
}

function need(plain: Buffer, length: number, what: string): void {
  if (plain.length < length) {
    throw new SessionError(
      'protocol',
      `a ${what} frame was ${plain.length} bytes, expected at least ${length}`,
    );
  }
}

/** Parse the plaintext of one authenticated frame; throws on an unknown type or a short body. */
export function decodeFrame(plain: Buffer): Frame {
  switch (plain[0]) {
    case FrameType.data:
      need(plain, 17, 'data');
      return { type: 'data', ack: readU64(plain, 1), offset: readU64(plain, 9), bytes: plain.subarray(17) };
    case FrameType.ack:
      need(plain, 9, 'ack');
      return { type: 'ack', ack: readU64(plain, 1) };
    case FrameType.heartbeat:
      need(plain, 9, 'heartbeat');
      return { type: 'heartbeat', ack: readU64(plain, 1) };
    case FrameType.done:
      need(plain, 9, 'done');
      return { type: 'done', ack: readU64(plain, 1) };
    case FrameType.fin:
      need(plain, 17, 'fin');
      return { type: 'fin', ack: readU64(plain, 1), offset: readU64(plain, 9) };
    case FrameType.reset:
      return { type: 'reset', reason: plain.subarray(1).toString('utf8') };
    case FrameType.welcome:
      need(plain, 9 + SESSION_ID_BYTES + 4, 'welcome');
      return {
        type: 'welcome',
        ack: readU64(plain, 1),
        sessionId: Buffer.from(plain.subarray(9, 9 + SESSION_ID_BYTES)),
        windowMs: plain.readUInt32BE(9 + SESSION_ID_BYTES),
      };
    case FrameType.probeResult:
      need(plain, 2, 'probe result');
      return { type: 'probe-result', ok: plain[1] === 1, message: plain.subarray(2).toString('utf8') };
    default:
      throw new SessionError('protocol', `unknown frame type ${String(plain[0])}`);
  }
}
