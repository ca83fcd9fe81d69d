import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameOpener, FrameReader, FrameSealer } from './crypto';
import { SessionError } from './errors';
import { decodeFrame, encodeFrame, encodeFrameParts, type Frame } from './frames';
import { MAX_FRAME, SESSION_ID_BYTES } from './limits';

// The frame decoder and reader fed random, truncated and bit-flipped bytes, 10,000 runs each; the round-trip
// and chunking properties with real traffic live in crypto.test.ts. fast-check prints a failure's seed.
// TUNNELMUX_FUZZ_RUNS lowers the runs for `pnpm mutation` only; CI runs the default.
const RUNS = Number(process.env.TUNNELMUX_FUZZ_RUNS ?? 10_000);
const KEY = Buffer.alloc(32, 7);

const offset = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const text = fc.string({ maxLength: 40 });
const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constant('data' as const),
    ack: offset,
    offset,
    bytes: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  }),
  fc.record({ type: fc.constantFrom('ack' as const, 'heartbeat' as const, 'done' as const), ack: offset }),
  fc.record({ type: fc.constant('fin' as const), ack: offset, offset }),
  fc.record({ type: fc.constant('reset' as const), reason: text }),
  fc.record({
    type: fc.constant('welcome' as const),
    ack: offset,
    sessionId: fc
      .uint8Array({ minLength: SESSION_ID_BYTES, maxLength: SESSION_ID_BYTES })
      .map((b) => Buffer.from(b)),
    windowMs: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  }),
  fc.record({ type: fc.constant('probe-result' as const), ok: fc.boolean(), message: text }),
);

/** Bytes a peer might send as a frame's plaintext: random, or a real frame cut short or bit-flipped. */
const plaintext = fc.oneof(
  fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
  fc.tuple(frame, fc.nat()).map(([f, cut]) => {
    const bytes = encodeFrame(f);
    return bytes.subarray(0, cut % (bytes.length + 1));
  }),
  fc.tuple(frame, fc.nat()).map(([f, bit]) => {
    const bytes = Buffer.from(encodeFrame(f));
    const at = bit % (bytes.length * 8);
    bytes[at >> 3] = (bytes[at >> 3] as number) ^ (1 << (at & 7));
    return bytes;
  }),
);

function sessionErrorOr<T>(fn: () => T): T | SessionError {
  try {
    return fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionError);
    expect((error as Error).message).toMatch(/^\[tunnelmux\] \[session\] /);
    return error as SessionError;
  }
}

describe('session frames, fuzzed', () => {
  it('decode any plaintext into a frame or a SessionError, and re-encode what they decode', () => {
    fc.assert(
      fc.property(plaintext, (bytes) => {
        const decoded = sessionErrorOr(() => decodeFrame(bytes));
        if (decoded instanceof SessionError) return;
        // What decodes re-encodes to a frame that decodes the same (text clipped at 500 characters aside).
        expect(decodeFrame(encodeFrame(decoded))).toEqual(decoded);
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trip every frame, whole and in parts', () => {
    fc.assert(
      fc.property(frame, (f) => {
        expect(decodeFrame(encodeFrame(f))).toEqual(f);
        expect(decodeFrame(Buffer.concat(encodeFrameParts(f)))).toEqual(f);
      }),
      { numRuns: RUNS },
    );
  });

  it('read random bytes into frames, a refusal or a wait, holding at most one frame', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
        fc.boolean(),
        (chunks, parts) => {
          const reader = new FrameReader();
          for (const chunk of chunks) {
            reader.push(Buffer.from(chunk));
            const next = sessionErrorOr(() => (parts ? reader.nextParts() : reader.next()));
            if (next instanceof SessionError) return;
            // Bytes wait only while the announced frame is within bounds, so memory stays under one frame.
            expect(reader.buffered).toBeLessThanOrEqual(MAX_FRAME + 4);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('never open a sealed frame that was cut short, extended or bit-flipped', () => {
    fc.assert(
      fc.property(
        frame,
        fc.oneof(
          fc.record({ kind: fc.constant('flip' as const), at: fc.nat() }),
          fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
          fc.record({
            kind: fc.constant('append' as const),
            bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
          }),
        ),
        (f, damage) => {
          const sealed = new FrameSealer(KEY).seal(encodeFrame(f));
          let bad: Buffer;
          if (damage.kind === 'flip') {
            bad = Buffer.from(sealed);
            const bit = damage.at % (bad.length * 8);
            bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
          } else if (damage.kind === 'cut') bad = sealed.subarray(0, damage.at % sealed.length);
          else {
            // Extended: the length prefix claims the extra bytes too.
            bad = Buffer.concat([sealed, Buffer.from(damage.bytes)]);
            bad.writeUInt32BE(sealed.length - 4 + damage.bytes.length, 0);
          }
          const reader = new FrameReader();
          reader.push(bad);
          const opener = new FrameOpener(KEY);
          const opened = sessionErrorOr(() => {
            const next = reader.next();
            return next ? opener.open(next.header, next.sealed) : undefined;
          });
          // Refused, or still waiting for bytes; never a frame.
          expect(opened === undefined || opened instanceof SessionError).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
