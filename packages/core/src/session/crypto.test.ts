import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameOpener, FrameReader, FrameSealer } from './crypto';
import { decodeFrame, encodeFrame, encodeFrameParts } from './frames';
import { MAX_FRAME } from './limits';

describe('sealed frames', () => {
  it('round-trip any payload and keep frame boundaries across arbitrary chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 2000 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 10 }),
        (payloads, cuts) => {
          const key = randomBytes(32);
          const sealer = new FrameSealer(key);
          const wire = Buffer.concat(
            payloads.map((p, i) =>
              sealer.seal(encodeFrame({ type: 'data', ack: i, offset: i * 7, bytes: Buffer.from(p) })),
            ),
          );
          const reader = new FrameReader();
          const opener = new FrameOpener(key);
          const out: Buffer[] = [];
          let at = 0;
          let turn = 0;
          while (at < wire.length) {
            const size = cuts[turn++ % cuts.length] as number;
            reader.push(wire.subarray(at, at + size));
            at += size;
            for (let next = reader.next(); next; next = reader.next()) {
              const frame = decodeFrame(opener.open(next.header, next.sealed));
              if (frame.type === 'data') out.push(frame.bytes);
            }
          }
          expect(out.map((b) => b.toString('hex'))).toEqual(
            payloads.map((p) => Buffer.from(p).toString('hex')),
          );
        },
      ),
    );
  });

  it('open frames from the pieces they arrived in, across arbitrary chunking, without joining them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 2000 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 10 }),
        (payloads, cuts) => {
          const key = randomBytes(32);
          const sealer = new FrameSealer(key);
          const wire = Buffer.concat(
            payloads.flatMap((p, i) =>
              sealer.sealParts(encodeFrameParts({ type: 'data', ack: i, offset: i, bytes: Buffer.from(p) })),
            ),
          );
          const reader = new FrameReader();
          const opener = new FrameOpener(key);
          const out: Buffer[] = [];
          let at = 0;
          let turn = 0;
          while (at < wire.length) {
            const size = cuts[turn++ % cuts.length] as number;
            reader.push(wire.subarray(at, at + size));
            at += size;
            for (let next = reader.nextParts(); next; next = reader.nextParts()) {
              const frame = decodeFrame(Buffer.concat(opener.openParts(next.header, next.pieces)));
              if (frame.type === 'data') out.push(frame.bytes);
            }
          }
          expect(reader.buffered).toBe(0);
          expect(out.map((b) => b.toString('hex'))).toEqual(
            payloads.map((p) => Buffer.from(p).toString('hex')),
          );
        },
      ),
    );
  });

  it('refuse a flipped bit anywhere in a frame opened in pieces, the tag split across them', () => {
    const frame = new FrameSealer(Buffer.alloc(32, 7)).seal(
      encodeFrame({ type: 'data', ack: 1, offset: 2, bytes: Buffer.from('hello, world') }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: frame.length * 8 - 1 }),
        fc.integer({ min: 1, max: frame.length - 1 }),
        (bit, cut) => {
          const bad = Buffer.from(frame);
          bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
          const reader = new FrameReader();
          reader.push(bad.subarray(0, cut));
          reader.push(bad.subarray(cut));
          const opener = new FrameOpener(Buffer.alloc(32, 7));
          let opened: Buffer[] | undefined;
          try {
            const next = reader.nextParts();
            if (next) opened = opener.openParts(next.header, next.pieces);
          } catch {
            opened = undefined;
          }
          expect(opened).toBeUndefined();
        },
      ),
    );
  });

  it('refuse a flipped bit anywhere in a frame, length prefix included', () => {
    const frame = new FrameSealer(Buffer.alloc(32, 7)).seal(
      encodeFrame({ type: 'data', ack: 1, offset: 2, bytes: Buffer.from('hello, world') }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: frame.length * 8 - 1 }), (bit) => {
        const bad = Buffer.from(frame);
        bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
        const reader = new FrameReader();
        reader.push(bad);
        const opener = new FrameOpener(Buffer.alloc(32, 7));
        // A damaged length either is refused, waits for bytes that never come, or fails authentication.
        let opened: Buffer | undefined;
        try {
          const next = reader.next();
          if (next) opened = opener.open(next.header, next.sealed);
        } catch {
          opened = undefined;
        }
        expect(opened).toBeUndefined();
      }),
    );
  });

  it('refuse a replayed or reordered frame (counter nonces)', () => {
    const key = randomBytes(32);
    const sealer = new FrameSealer(key);
    const first = sealer.seal(encodeFrame({ type: 'ack', ack: 1 }));
    const second = sealer.seal(encodeFrame({ type: 'ack', ack: 2 }));
    const opener = new FrameOpener(key);
    opener.open(first.subarray(0, 4), first.subarray(4));
    expect(() => opener.open(first.subarray(0, 4), first.subarray(4))).toThrow(/failed authentication/);
    const fresh = new FrameOpener(key);
    expect(() => fresh.open(second.subarray(0, 4), second.subarray(4))).toThrow(/failed authentication/);
  });

  it('refuse a huge length prefix from its 4 bytes alone, before buffering or allocating it', () => {
    const reader = new FrameReader();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff, 0);
    reader.push(header);
    expect(() => reader.next()).toThrow(/4294967295 bytes.*refused/);
    const justOver = Buffer.alloc(4);
    justOver.writeUInt32BE(MAX_FRAME + 1, 0);
    const second = new FrameReader();
    second.push(justOver);
    expect(() => second.next()).toThrow(/refused/);
    expect(second.buffered).toBe(4);
  });
});
