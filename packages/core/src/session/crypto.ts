import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';
import { SessionError } from './errors';
import { KEY_BYTES, MAX_FRAME, TAG_BYTES } from './limits';

const CIPHER = 'chacha20-poly1305';

/** HKDF-SHA256 of `ikm` with `salt`, labelled by `info`: one 32-byte key. */
export function deriveKey(ikm: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, `tunnelmux/session/v1 ${info}`, KEY_BYTES));
}

/** HMAC-SHA256 proof over a handshake transcript, labelled by who proves. */
export function proveTranscript(authKey: Buffer, label: 'client' | 'relay', transcript: Buffer): Buffer {
  return createHmac('sha256', authKey)
    .update(`tunnelmux/session/v1 ${label} proof`)
    .update(transcript)
    .digest();
}

/** Constant-time comparison of two proofs. */
export function proofMatches(expected: Buffer, actual: Buffer): boolean {
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

// Counter nonce: 4 zero bytes then a 64-bit big-endian frame counter; keys are per carrier and direction.
function counterNonce(counter: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(Math.floor(counter / 2 ** 32), 4);
  nonce.writeUInt32BE(counter >>> 0, 8);
  return nonce;
}

/** Seals frames in one direction: `[u32 length][ciphertext][tag]`, the length authenticated as AAD. */
export class FrameSealer {
  // A KeyObject made once: a raw key would be re-imported for every frame.
  readonly #key: KeyObject;
  #counter = 0;

  constructor(key: Buffer) {
    this.#key = createSecretKey(key);
  }

  /** Seal the concatenation of `parts` (a header and a payload, without joining them first). */
  seal(...parts: Buffer[]): Buffer {
    return Buffer.concat(this.sealParts(parts));
  }

  /**
   * The sealed frame as pieces to write back to back (length, ciphertext pieces, tag): the ciphertext is not
   * copied into one buffer, so a corked socket sends it with one writev.
   */
  sealParts(parts: Buffer[]): Buffer[] {
    let length = 0;
    for (const part of parts) length += part.length;
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(length + TAG_BYTES, 0);
    const cipher = createCipheriv(CIPHER, this.#key, counterNonce(this.#counter++), {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(header, { plaintextLength: length });
    const out = [header];
    for (const part of parts) out.push(cipher.update(part));
    cipher.final();
    out.push(cipher.getAuthTag());
    return out;
  }
}

/** Opens frames in one direction, in order; any failure throws and the carrier must end. */
export class FrameOpener {
  readonly #key: KeyObject;
  #counter = 0;

  constructor(key: Buffer) {
    this.#key = createSecretKey(key);
  }

  /** `header` is the 4 length bytes, `sealed` the ciphertext and tag. */
  open(header: Buffer, sealed: Buffer): Buffer {
    const length = sealed.length - TAG_BYTES;
    const decipher = createDecipheriv(CIPHER, this.#key, counterNonce(this.#counter++), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(header, { plaintextLength: length });
    decipher.setAuthTag(sealed.subarray(length));
    const plaintext = decipher.update(sealed.subarray(0, length));
    try {
      decipher.final();
    } catch (error) {
      throw new SessionError(
        'protocol',
        'a frame failed authentication: the carrier altered or injected bytes',
        {
          cause: error,
        },
      );
    }
    return plaintext;
  }

  /**
   * Open a frame whose ciphertext and tag arrive in pieces (as read from the socket), without joining them:
   * returns the plaintext in pieces, only after the whole frame authenticated.
   */
  openParts(header: Buffer, pieces: Buffer[]): Buffer[] {
    let total = 0;
    for (const piece of pieces) total += piece.length;
    const length = total - TAG_BYTES;
    const decipher = createDecipheriv(CIPHER, this.#key, counterNonce(this.#counter++), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(header, { plaintextLength: length });
    const plaintext: Buffer[] = [];
    const tag: Buffer[] = [];
    let at = 0;
    for (const piece of pieces) {
      const cut = Math.max(0, Math.min(piece.length, length - at));
      if (cut > 0) plaintext.push(decipher.update(piece.subarray(0, cut)));
      if (cut < piece.length) tag.push(piece.subarray(cut));
      at += piece.length;
    }
    decipher.setAuthTag(tag.length === 1 ? (tag[0] as Buffer) : Buffer.concat(tag));
    try {
      decipher.final();
    } catch (error) {
      throw new SessionError(
        'protocol',
        'a frame failed authentication: the carrier altered or injected bytes',
        { cause: error },
      );
    }
    return plaintext;
  }
}

/**
 * Splits a byte stream into sealed frames without trusting the length prefix: a length above `maxFrame`
 * or below a tag is refused before any buffer of that size is allocated.
 */
export class FrameReader {
  readonly #maxFrame: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxFrame = MAX_FRAME) {
    this.#maxFrame = maxFrame;
  }

  get buffered(): number {
    return this.#buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next complete frame, or undefined when more bytes are needed. */
  next(): { header: Buffer; sealed: Buffer } | undefined {
    if (this.#buffered < 4) return undefined;
    const header = this.#peek(4);
    const length = header.readUInt32BE(0);
    if (length > this.#maxFrame || length < TAG_BYTES + 1) {
      throw new SessionError(
        'protocol',
        `a frame announced ${length} bytes, outside 1..${this.#maxFrame - TAG_BYTES} plus its tag: refused without reading it`,
      );
    }
    if (this.#buffered < 4 + length) return undefined;
    const frame = this.#take(4 + length);
    return { header: frame.subarray(0, 4), sealed: frame.subarray(4) };
  }

  /** Like `next`, but the sealed bytes come as the pieces they arrived in (no join of a large frame). */
  nextParts(): { header: Buffer; pieces: Buffer[] } | undefined {
    if (this.#buffered < 4) return undefined;
    const header = this.#peek(4);
    const length = header.readUInt32BE(0);
    if (length > this.#maxFrame || length < TAG_BYTES + 1) {
      throw new SessionError(
        'protocol',
        `a frame announced ${length} bytes, outside 1..${this.#maxFrame - TAG_BYTES} plus its tag: refused without reading it`,
      );
    }
    if (this.#buffered < 4 + length) return undefined;
    this.#take(4);
    const pieces: Buffer[] = [];
    let left = length;
    while (left > 0) {
      const first = this.#chunks[0] as Buffer;
      const piece = first.length <= left ? first : first.subarray(0, left);
      if (piece === first) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(left);
      pieces.push(piece);
      left -= piece.length;
    }
    this.#buffered -= length;
    return { header, pieces };
  }

  // Join just enough leading chunks to hold n bytes (never the whole backlog).
  #front(n: number): Buffer {
    let first = this.#chunks[0] as Buffer;
    if (first.length >= n) return first;
    let count = 0;
    let length = 0;
    while (length < n) length += (this.#chunks[count++] as Buffer).length;
    first = Buffer.concat(this.#chunks.slice(0, count), length);
    this.#chunks.splice(0, count, first);
    return first;
  }

  #peek(n: number): Buffer {
    return this.#front(n).subarray(0, n);
  }

  #take(n: number): Buffer {
    const first = this.#front(n);
    const out = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#buffered -= n;
    return out;
  }
}
