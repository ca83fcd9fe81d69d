import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { monotonicNow } from '../async/monotonic';
import type { FrameOpener, FrameSealer } from './crypto';
import { FrameReader } from './crypto';
import { SessionError } from './errors';
import { DATA_HEAD, decodeFrame, encodeFrameParts, type Frame, FrameType } from './frames';
import { MAX_PAYLOAD, type StreamLimits, WRITE_AHEAD } from './limits';

/** How a session ended: both ends closed cleanly, or one side reset it with a reason. */
export type StreamOutcome = { kind: 'complete' } | { kind: 'reset'; reason: string; byPeer: boolean };

export interface SessionStreamOptions extends StreamLimits {
  /** The client speaks first after a handshake with an ACK; the relay answers with a WELCOME. */
  role: 'client' | 'relay';
  /** Relay only: the id and resume window announced in each WELCOME. */
  sessionId?: Buffer;
  windowMs?: number;
}

interface StreamEvents {
  /** The peer answered on a new carrier: `replayedBytes` were sent again from its acknowledgement. */
  ready: [{ replayedBytes: number }];
  welcome: [{ sessionId: Buffer; windowMs: number }];
  'carrier-lost': [{ reason: string }];
  done: [StreamOutcome];
}

interface Carrier {
  socket: Duplex;
  sealer: FrameSealer;
  opener: FrameOpener;
  reader: FrameReader;
  ready: boolean;
  blocked: boolean;
  finSent: boolean;
  lastIn: number;
  lastOut: number;
  detach(): void;
}

/** Send sealed frames as a carrier's last and close it; a peer that never closes its side is cut after 2 s. */
export function endWithFrame(socket: Duplex, sealer: FrameSealer, ...frames: Frame[]): void {
  for (const frame of frames) socket.write(sealer.seal(...encodeFrameParts(frame)));
  socket.end();
  setTimeout(() => socket.destroy(), 2000).unref();
}

/**
 * One end of a resumable byte stream: the local socket on one side, a replaceable sealed carrier on the
 * other. Bytes read from `local` stay in a bounded replay buffer until the peer acknowledges them.
 */
export class SessionStream extends EventEmitter<StreamEvents> {
  readonly #local: Duplex;
  readonly #options: SessionStreamOptions;
  readonly #ackEvery: number;
  // Send side: queue holds bytes [#queueStart, #sent); the peer has acknowledged up to #peerAck.
  #queue: Buffer[] = [];
  #queueStart = 0;
  #sent = 0;
  #peerAck = 0;
  #cursor = 0;
  #highestSent = 0;
  #localEnded = false;
  #localPaused = false;
  #finAcked = false;
  // Receive side.
  #received = 0;
  #finIn = false;
  #lastAckSent = 0;
  #localBlocked = false;
  #ackTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #carrier: Carrier | undefined;
  #done = false;
  // Ended with both FINs exchanged and acknowledged: a relay still answers a late resume with its last ACK and DONE.
  #completed = false;
  // The client's TIME_WAIT: both FINs are through here, and it waits for the relay's DONE, the proof that the
  // relay got its last acknowledgement; a carrier lost meanwhile is resumed to deliver it again.
  #closing: NodeJS.Timeout | undefined;
  #replayedTotal = 0;
  #reading = false;
  #flushing = false;
  #flushAgain = false;
  #trims = 0;

  constructor(local: Duplex, options: SessionStreamOptions) {
    super();
    this.#local = local;
    this.#options = options;
    // Fewer ACK frames on a bulk stream; a quarter of the buffer keeps the sender from ever waiting on one.
    this.#ackEvery = Math.max(1, Math.min(256 * 1024, Math.floor(options.bufferBytes / 4)));
    local.on('data', this.#onLocalData);
    local.on('end', this.#onLocalEnd);
    local.on('error', this.#onLocalError);
    local.on('close', this.#onLocalClose);
    local.on('drain', this.#onLocalDrain);
  }

  /** Bytes accepted from the local side, delivered to it, held for replay, and replayed after resumes. */
  get stats() {
    return {
      sent: this.#sent,
      received: this.#received,
      unacked: this.#sent - this.#peerAck,
      replayed: this.#replayedTotal,
      attached: this.#carrier?.ready === true,
    };
  }

  get done(): boolean {
    return this.#done;
  }

  /** Every byte is through both ways; the client waits only for the relay's DONE (TIME_WAIT). */
  get closing(): boolean {
    return this.#closing !== undefined && !this.#done;
  }

  get attached(): boolean {
    return this.#carrier !== undefined;
  }

  /** Carry the session over `socket` (after a verified handshake); a previous carrier is closed first. */
  attach(socket: Duplex, keys: { sealer: FrameSealer; opener: FrameOpener; leftover: Buffer }): void {
    if (this.#done) {
      // Only a client resumes, so only a relay is asked again after it completed.
      if (this.#completed && this.#options.role === 'relay') this.#answerLateResume(socket, keys.sealer);
      else socket.destroy();
      return;
    }
    this.#dropCarrier();
    const now = monotonicNow();
    const carrier: Carrier = {
      socket,
      sealer: keys.sealer,
      opener: keys.opener,
      reader: new FrameReader(),
      ready: false,
      blocked: false,
      finSent: false,
      lastIn: now,
      lastOut: now,
      detach: () => undefined,
    };
    const onData = (chunk: Buffer) => this.#onCarrierData(carrier, chunk);
    const onEnd = () => this.#carrierFailed(carrier, 'the carrier ended');
    const onError = (error: Error) => this.#carrierFailed(carrier, `the carrier failed: ${error.message}`);
    const onDrain = () => {
      carrier.blocked = false;
      this.#flush();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    socket.on('drain', onDrain);
    carrier.detach = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      socket.off('drain', onDrain);
      // A late error on a dropped carrier must not crash the process.
      socket.on('error', () => undefined);
    };
    this.#carrier = carrier;
    const ack = this.#ourAck();
    this.#lastAckSent = ack;
    if (this.#options.role === 'relay') {
      this.#send(carrier, {
        type: 'welcome',
        ack,
        sessionId: this.#options.sessionId as Buffer,
        windowMs: this.#options.windowMs ?? 0,
      });
    } else {
      this.#send(carrier, { type: 'ack', ack });
    }
    this.#startHeartbeat();
    if (keys.leftover.length > 0) this.#onCarrierData(carrier, keys.leftover);
    if (this.#carrier === carrier && !this.#localBlocked) socket.resume();
  }

  /** Drop the current carrier (e.g. its path left rotation) and report it lost. */
  detach(reason: string): void {
    const carrier = this.#carrier;
    if (carrier) this.#carrierFailed(carrier, reason);
  }

  /** End the session now: tell the peer why (when a carrier is up) and destroy the local socket. */
  abort(reason: string): void {
    if (this.#done) return;
    // Every byte is through both ways: only the relay's word on our last acknowledgement is missing.
    if (this.#closing) {
      this.#complete();
      return;
    }
    const carrier = this.#carrier;
    if (carrier?.ready) this.#send(carrier, { type: 'reset', reason });
    this.#finish({ kind: 'reset', reason, byPeer: false });
  }

  // --- local side ---

  #onLocalData = (chunk: Buffer) => {
    if (this.#done || this.#localEnded) return;
    this.#queue.push(chunk);
    this.#sent += chunk.length;
    // Back-pressure, never loss: stop reading once the replay buffer is full, until acks trim it.
    if (this.#sent - this.#peerAck >= this.#options.bufferBytes && !this.#localPaused) {
      this.#localPaused = true;
      this.#local.pause();
    }
    this.#flush();
  };

  #onLocalEnd = () => {
    this.#localEnded = true;
    this.#flush();
  };

  #onLocalError = (error: Error) => {
    this.abort(
      `the ${this.#options.role === 'relay' ? 'target' : 'client'} connection failed: ${error.message}`,
    );
  };

  #onLocalClose = () => {
    if (this.#done) return;
    // Closed after both directions ended is the normal end; anything else is an abort.
    if (!(this.#localEnded && this.#finIn)) {
      this.abort(`the ${this.#options.role === 'relay' ? 'target' : 'client'} connection closed`);
    }
  };

  #onLocalDrain = () => {
    if (!this.#localBlocked) return;
    this.#localBlocked = false;
    const carrier = this.#carrier;
    if (carrier) {
      carrier.lastIn = monotonicNow();
      carrier.socket.resume();
    }
  };

  // --- carrier side ---

  #onCarrierData(carrier: Carrier, chunk: Buffer): void {
    if (this.#carrier !== carrier) return;
    carrier.reader.push(chunk);
    // A write can loop back synchronously (in-memory carriers): the outer loop reads what arrived meanwhile.
    if (this.#reading) return;
    this.#reading = true;
    // Frames decoded from one read reach the local socket as one writev.
    this.#local.cork();
    try {
      for (;;) {
        if (this.#carrier !== carrier) return;
        const next = carrier.reader.nextParts();
        if (!next) return;
        const plain = carrier.opener.openParts(next.header, next.pieces);
        carrier.lastIn = monotonicNow();
        const head = plain[0] as Buffer;
        if (plain.length > 1 && carrier.ready && head[0] === FrameType.data && head.length >= DATA_HEAD) {
          // A data frame that arrived in pieces: deliver them in turn rather than join 64 KiB.
          this.#onPiecewiseData(carrier, head, plain);
        } else {
          this.#onFrame(carrier, decodeFrame(plain.length === 1 ? head : Buffer.concat(plain)));
        }
      }
    } catch (error) {
      this.#carrierFailed(carrier, error instanceof Error ? error.message : String(error));
    } finally {
      this.#reading = false;
      this.#local.uncork();
    }
  }

  #onFrame(carrier: Carrier, frame: Frame): void {
    if (!carrier.ready) {
      // The relay may refuse a new session after the handshake (its target is unreachable).
      if (frame.type === 'reset') {
        this.#finish({ kind: 'reset', reason: frame.reason, byPeer: true });
        return;
      }
      const expected = this.#options.role === 'relay' ? 'ack' : 'welcome';
      if (frame.type !== expected) {
        throw new SessionError(
          'protocol',
          `expected ${expected} as the first frame on a carrier, got ${frame.type}`,
        );
      }
      if (frame.type === 'welcome')
        this.emit('welcome', { sessionId: frame.sessionId, windowMs: frame.windowMs });
      this.#onAck(frame.ack);
      carrier.ready = true;
      // Resend everything the peer has not acknowledged, whatever the old carrier swallowed.
      const replayedBytes = Math.max(0, this.#highestSent - this.#peerAck);
      this.#replayedTotal += replayedBytes;
      this.#cursor = this.#peerAck;
      this.emit('ready', { replayedBytes });
      this.#flush();
      this.#maybeComplete();
      return;
    }
    switch (frame.type) {
      case 'data':
        this.#onAck(frame.ack);
        this.#deliver(carrier, frame.offset, frame.bytes);
        break;
      case 'fin':
        this.#onAck(frame.ack);
        if (frame.offset !== this.#received) {
          throw new SessionError(
            'protocol',
            `end of stream at byte ${frame.offset}, but ${this.#received} arrived`,
          );
        }
        if (!this.#finIn) {
          this.#finIn = true;
          this.#local.end();
          this.#sendAck();
        }
        break;
      case 'ack':
      case 'heartbeat':
        this.#onAck(frame.ack);
        break;
      case 'done':
        // Only the relay says DONE, and only once both ends of the stream are through.
        if (this.#options.role !== 'client') {
          throw new SessionError('protocol', 'a DONE frame from the client: only the relay sends one');
        }
        this.#onAck(frame.ack);
        this.#maybeComplete();
        if (!this.#closing) {
          throw new SessionError('protocol', 'a DONE frame before both ends of the stream were through');
        }
        this.#complete();
        return;
      case 'reset':
        this.#finish({ kind: 'reset', reason: frame.reason, byPeer: true });
        return;
      default:
        throw new SessionError('protocol', `unexpected ${frame.type} frame on a live carrier`);
    }
    this.#flush();
    this.#maybeComplete();
  }

  #onPiecewiseData(carrier: Carrier, head: Buffer, plain: Buffer[]): void {
    const frame = decodeFrame(head.subarray(0, DATA_HEAD));
    if (frame.type !== 'data') return;
    this.#onAck(frame.ack);
    let offset = frame.offset;
    for (let i = 0; i < plain.length; i++) {
      const piece = i === 0 ? head.subarray(DATA_HEAD) : (plain[i] as Buffer);
      this.#deliver(carrier, offset, piece);
      offset += piece.length;
      if (this.#carrier !== carrier || this.#done) return;
    }
    this.#flush();
    this.#maybeComplete();
  }

  #deliver(carrier: Carrier, offset: number, bytes: Buffer): void {
    if (offset > this.#received) {
      throw new SessionError(
        'protocol',
        `data at byte ${offset} skips past ${this.#received}: bytes went missing`,
      );
    }
    if (this.#finIn && bytes.length > 0) throw new SessionError('protocol', 'data after the end of stream');
    const skip = this.#received - offset;
    if (skip >= bytes.length) return;
    const fresh = skip > 0 ? bytes.subarray(skip) : bytes;
    this.#received += fresh.length;
    if (!this.#local.write(fresh) && this.#local.writableLength >= WRITE_AHEAD) {
      // The local reader is slow: stop reading the carrier so memory stays bounded by the peer's buffer.
      this.#localBlocked = true;
      carrier.socket.pause();
    }
    this.#scheduleAck();
  }

  #onAck(ack: number): void {
    const max = this.#sent + (this.#localEnded ? 1 : 0);
    if (ack > max)
      throw new SessionError('protocol', `the peer acknowledged byte ${ack}, beyond the ${max} sent`);
    if (ack <= this.#peerAck) return;
    if (this.#localEnded && ack === this.#sent + 1) this.#finAcked = true;
    const dataAck = Math.min(ack, this.#sent);
    while (this.#queue.length > 0) {
      const first = this.#queue[0] as Buffer;
      const end = this.#queueStart + first.length;
      this.#trims++;
      if (end <= dataAck) {
        this.#queue.shift();
        this.#queueStart = end;
      } else {
        if (this.#queueStart < dataAck) {
          this.#queue[0] = first.subarray(dataAck - this.#queueStart);
          this.#queueStart = dataAck;
        }
        break;
      }
    }
    this.#peerAck = dataAck;
    if (this.#localPaused && this.#sent - this.#peerAck < this.#options.bufferBytes) {
      this.#localPaused = false;
      this.#local.resume();
    }
  }

  #ourAck(): number {
    return this.#received + (this.#finIn ? 1 : 0);
  }

  #scheduleAck(): void {
    if (this.#ourAck() - this.#lastAckSent >= this.#ackEvery) {
      this.#sendAck();
    } else if (!this.#ackTimer) {
      this.#ackTimer = setTimeout(() => this.#sendAck(), 5);
    }
  }

  #sendAck(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const carrier = this.#carrier;
    const ack = this.#ourAck();
    if (!carrier?.ready || ack === this.#lastAckSent) return;
    this.#lastAckSent = ack;
    this.#send(carrier, { type: 'ack', ack });
  }

  #flush(): void {
    // Re-entered from a write that looped back (an ack trimmed the queue): finish this pass, then go again.
    if (this.#flushing) {
      this.#flushAgain = true;
      return;
    }
    this.#flushing = true;
    try {
      do {
        this.#flushAgain = false;
        this.#flushOnce();
      } while (this.#flushAgain);
    } finally {
      this.#flushing = false;
    }
  }

  #flushOnce(): void {
    const carrier = this.#carrier;
    if (!carrier?.ready || carrier.blocked || this.#done) return;
    // Every frame of this pass leaves in one writev.
    const socket = carrier.socket;
    socket.cork();
    try {
      this.#flushFrames(carrier);
    } finally {
      socket.uncork();
    }
  }

  #flushFrames(carrier: Carrier): void {
    if (this.#cursor < this.#peerAck) this.#cursor = this.#peerAck;
    let index = 0;
    let start = this.#queueStart;
    let trims = this.#trims;
    while (this.#cursor < this.#sent) {
      if (trims !== this.#trims || this.#carrier !== carrier) {
        if (this.#carrier !== carrier || this.#done) return;
        // The queue was trimmed under us: find the cursor again from its head.
        index = 0;
        start = this.#queueStart;
        trims = this.#trims;
        if (this.#cursor < this.#peerAck) this.#cursor = this.#peerAck;
        if (this.#cursor >= this.#sent) break;
      }
      // Find the queued chunk holding the cursor.
      while (start + (this.#queue[index] as Buffer).length <= this.#cursor) {
        start += (this.#queue[index] as Buffer).length;
        index++;
      }
      const chunk = this.#queue[index] as Buffer;
      const from = this.#cursor - start;
      const bytes = chunk.subarray(from, Math.min(chunk.length, from + MAX_PAYLOAD));
      const ack = this.#ourAck();
      this.#lastAckSent = ack;
      const offset = this.#cursor;
      this.#cursor = offset + bytes.length;
      this.#highestSent = Math.max(this.#highestSent, this.#cursor);
      const ok = this.#send(carrier, { type: 'data', ack, offset, bytes });
      if (this.#carrier !== carrier) return;
      if (!ok) {
        carrier.blocked = true;
        return;
      }
    }
    if (this.#localEnded && !carrier.finSent && !this.#finAcked) {
      carrier.finSent = true;
      const ack = this.#ourAck();
      this.#lastAckSent = ack;
      this.#send(carrier, { type: 'fin', ack, offset: this.#sent });
    }
  }

  /** Seal and queue one frame; false once the socket's queue is past WRITE_AHEAD (wait for 'drain'). */
  #send(carrier: Carrier, frame: Frame): boolean {
    carrier.lastOut = monotonicNow();
    const socket = carrier.socket;
    const pieces = carrier.sealer.sealParts(encodeFrameParts(frame));
    socket.cork();
    let ok = true;
    for (const piece of pieces) ok = socket.write(piece);
    socket.uncork();
    // A false write means 'drain' will come; until the queue is past WRITE_AHEAD, keep sending meanwhile.
    return ok || socket.writableLength < WRITE_AHEAD;
  }

  /**
   * The client resumes a session that ended here: our last acknowledgement (of its FIN) or our DONE was lost
   * with the carrier. Greet it as any resume is greeted, with that acknowledgement, then DONE, and close: the
   * client completes on them. Nothing else is sent, and nothing read.
   */
  #answerLateResume(socket: Duplex, sealer: FrameSealer): void {
    socket.on('error', () => undefined);
    const ack = this.#ourAck();
    endWithFrame(
      socket,
      sealer,
      {
        type: 'welcome',
        ack,
        sessionId: this.#options.sessionId as Buffer,
        windowMs: this.#options.windowMs ?? 0,
      },
      { type: 'done', ack },
    );
  }

  #maybeComplete(): void {
    if (this.#done || this.#closing || !this.#finIn || !this.#finAcked) return;
    if (this.#options.role === 'client') {
      // Acknowledge the relay's end of stream: it completes on that and says DONE. Bounded, for a relay
      // that never does (one older than DONE).
      this.#sendAck();
      this.#closing = setTimeout(() => this.#complete(), 2 * this.#options.deadAfterMs);
      this.#closing.unref();
      return;
    }
    // DONE carries our acknowledgement of the client's end of stream.
    const carrier = this.#carrier;
    if (carrier?.ready) this.#send(carrier, { type: 'done', ack: this.#ourAck() });
    this.#complete();
  }

  // #finish ends the carrier (our last frame still goes out) and clears the TIME_WAIT timer.
  #complete(): void {
    this.#completed = true;
    this.#finish({ kind: 'complete' });
  }

  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    const { heartbeatMs, deadAfterMs } = this.#options;
    this.#heartbeat = setInterval(
      () => {
        const carrier = this.#carrier;
        if (!carrier) return;
        const now = monotonicNow();
        // While the local reader is slow we stop reading the carrier ourselves: silence is not death then.
        if (!this.#localBlocked && now - carrier.lastIn > deadAfterMs) {
          this.#carrierFailed(carrier, `no frame for ${deadAfterMs} ms: the carrier went silent`);
        } else if (carrier.ready && now - carrier.lastOut >= heartbeatMs) {
          this.#send(carrier, { type: 'heartbeat', ack: this.#ourAck() });
        }
      },
      Math.max(10, Math.floor(heartbeatMs / 2)),
    );
  }

  #carrierFailed(carrier: Carrier, reason: string): void {
    if (this.#carrier !== carrier || this.#done) return;
    this.#dropCarrier();
    this.emit('carrier-lost', { reason });
  }

  #dropCarrier(): void {
    const carrier = this.#carrier;
    if (!carrier) return;
    this.#carrier = undefined;
    carrier.detach();
    carrier.socket.destroy();
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  #finish(outcome: StreamOutcome): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#closing);
    const carrier = this.#carrier;
    this.#carrier = undefined;
    if (carrier) {
      carrier.detach();
      if (outcome.kind === 'reset' && outcome.byPeer) {
        carrier.socket.destroy();
      } else {
        // Let our last frame (the final ACK or DONE, or our RESET) reach the peer, but never hang on a dead carrier.
        carrier.socket.end();
        setTimeout(() => carrier.socket.destroy(), 2000).unref();
      }
    }
    clearInterval(this.#heartbeat);
    clearTimeout(this.#ackTimer);
    this.#local.off('data', this.#onLocalData);
    // An aborted stream resets the local connection (RST where it is TCP): it must not look like a clean end.
    if (outcome.kind === 'reset') {
      const local = this.#local as Duplex & { resetAndDestroy?: () => void };
      if (typeof local.resetAndDestroy === 'function' && !local.destroyed) local.resetAndDestroy();
      else local.destroy();
    }
    this.#queue = [];
    this.emit('done', outcome);
  }
}
