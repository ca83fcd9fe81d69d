import { randomBytes } from 'node:crypto';
import { type Duplex, duplexPair } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameOpener, FrameSealer } from './crypto';
import { encodeFrame, type Frame } from './frames';
import { SessionStream, type SessionStream as Stream, type StreamOutcome } from './stream';

// A carrier whose path dies after `cutAt` bytes (both directions counted), mid-frame if it falls there,
// or flips one bit at byte `flipAt`. Either end closing closes the other, like a dead TCP path.
function carrier(cutAt = Number.POSITIVE_INFINITY, flipAt = Number.POSITIVE_INFINITY) {
  const [a, aInner] = duplexPair();
  const [b, bInner] = duplexPair();
  let passed = 0;
  let dead = false;
  const kill = () => {
    if (dead) return;
    dead = true;
    for (const s of [a, b, aInner, bInner]) s.destroy();
  };
  const forward = (from: Duplex, to: Duplex) =>
    from.on('data', (chunk: Buffer) => {
      if (dead) return;
      let out = chunk;
      if (flipAt >= passed && flipAt < passed + chunk.length) {
        out = Buffer.from(chunk);
        out[flipAt - passed] = (out[flipAt - passed] as number) ^ 0x10;
      }
      const room = cutAt - passed;
      if (out.length >= room) {
        if (room > 0) to.write(out.subarray(0, room));
        passed = cutAt;
        setImmediate(kill);
        return;
      }
      passed += out.length;
      to.write(out);
    });
  forward(aInner, bInner);
  forward(bInner, aInner);
  for (const s of [a, b, aInner, bInner]) {
    s.on('close', kill);
    s.on('error', () => undefined);
  }
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  return {
    a,
    b,
    kill,
    clientKeys: { sealer: new FrameSealer(k1), opener: new FrameOpener(k2), leftover: Buffer.alloc(0) },
    relayKeys: { sealer: new FrameSealer(k2), opener: new FrameOpener(k1), leftover: Buffer.alloc(0) },
  };
}

function outcome(stream: Stream): Promise<StreamOutcome> {
  return new Promise((resolve) => stream.once('done', resolve));
}

function collect(app: Duplex): Promise<Buffer> {
  const chunks: Buffer[] = [];
  app.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    app.once('end', () => resolve(Buffer.concat(chunks)));
    app.once('error', reject);
  });
}

async function writeAll(app: Duplex, chunks: Uint8Array[]): Promise<void> {
  for (const chunk of chunks) {
    if (!app.write(chunk)) await new Promise((resolve) => app.once('drain', resolve));
  }
  app.end();
}

interface Scenario {
  up: Uint8Array[];
  down: Uint8Array[];
  cuts: number[];
  /** Per resume: also attach a stale extra carrier to the relay, before or after the real one. */
  strays: ('none' | 'before' | 'after')[];
  bufferBytes: number;
  flips?: number[];
  /** Heartbeats on: a flipped length prefix that waits for bytes is caught when the next frames fail. */
  heartbeatMs?: number;
  /** The target answers only once the client's end arrived, as a request/response service does. */
  answerAfterEnd?: boolean;
}

// Drive a client and a relay stream over carriers that die; resume (re-attach) on every loss.
async function run(scenario: Scenario) {
  const [clientApp, clientLocal] = duplexPair();
  const [relayLocal, targetApp] = duplexPair();
  const heartbeatMs = scenario.heartbeatMs ?? 60_000;
  const limits = { bufferBytes: scenario.bufferBytes, heartbeatMs, deadAfterMs: heartbeatMs * 10 };
  const client = new SessionStream(clientLocal, { role: 'client', ...limits });
  const relay = new SessionStream(relayLocal, {
    role: 'relay',
    sessionId: randomBytes(16),
    windowMs: 1000,
    ...limits,
  });
  const cuts = [...scenario.cuts];
  const flips = [...(scenario.flips ?? [])];
  const strays = [...scenario.strays];
  let carriers = 0;
  let giveUp!: (error: Error) => void;
  const gaveUp = new Promise<never>((_, reject) => {
    giveUp = reject;
  });
  const connect = () => {
    if (client.done || client.attached) return;
    if (++carriers > 50) {
      giveUp(new Error('no progress after 50 carriers'));
      client.abort('test gave up');
      return;
    }
    const next = carrier(cuts.shift(), flips.shift());
    const stray = strays.shift() ?? 'none';
    const extra = stray === 'none' ? undefined : carrier();
    if (extra && stray === 'before') relay.attach(extra.b, extra.relayKeys);
    client.attach(next.a, next.clientKeys);
    relay.attach(next.b, next.relayKeys);
    // A late duplicate resume wins on the relay; the client's carrier then dies and it resumes again.
    if (extra && stray === 'after') relay.attach(extra.b, extra.relayKeys);
  };
  client.on('carrier-lost', () => setImmediate(connect));
  const done = Promise.all([outcome(client), outcome(relay)]);
  const got = Promise.all([collect(targetApp), collect(clientApp)]);
  connect();
  const answer = scenario.answerAfterEnd
    ? new Promise((resolve) => targetApp.once('end', resolve))
    : undefined;
  void Promise.all([
    writeAll(clientApp, scenario.up),
    (answer ?? Promise.resolve()).then(() => writeAll(targetApp, scenario.down)),
  ]).catch(() => undefined);
  const [atTarget, atClient] = await Promise.race([got, gaveUp]);
  const outcomes = await Promise.race([done, gaveUp]);
  return { atTarget, atClient, outcomes, carriers, client, relay };
}

const bytes = fc.array(fc.uint8Array({ minLength: 1, maxLength: 30_000 }), { maxLength: 12 });

describe('session stream', () => {
  it('delivers every byte once, in order, both ways, with the carrier cut at random byte offsets', async () => {
    await fc.assert(
      fc.asyncProperty(
        bytes,
        bytes,
        fc.array(fc.integer({ min: 0, max: 120_000 }), { maxLength: 6 }),
        fc.array(fc.constantFrom('none', 'before', 'after') as fc.Arbitrary<'none' | 'before' | 'after'>, {
          maxLength: 6,
        }),
        fc.integer({ min: 1024, max: 256 * 1024 }),
        fc.boolean(),
        async (up, down, cuts, strays, bufferBytes, answerAfterEnd) => {
          const result = await run({ up, down, cuts, strays, bufferBytes, answerAfterEnd });
          expect(result.atTarget.equals(Buffer.concat(up))).toBe(true);
          expect(result.atClient.equals(Buffer.concat(down))).toBe(true);
          expect(result.outcomes).toEqual([{ kind: 'complete' }, { kind: 'complete' }]);
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  it('the relay completes, then the carrier dies with its last acknowledgement: the resume gets it, and both complete', async () => {
    // Found by the property above. Both FINs crossed; the relay got the client's ack of its FIN and completed,
    // while its own ack of the client's FIN was cut off (byte 523). The client resumes a session that has
    // ended on the relay: the relay answers with that last acknowledgement instead of closing the carrier.
    const up = [Uint8Array.from([0]), Uint8Array.from([0])];
    const down = Array.from({ length: 7 }, () => Uint8Array.from([0]));
    const result = await run({ up, down, cuts: [523], strays: [], bufferBytes: 1024 });
    expect(result.atTarget.equals(Buffer.concat(up))).toBe(true);
    expect(result.atClient.equals(Buffer.concat(down))).toBe(true);
    expect(result.outcomes).toEqual([{ kind: 'complete' }, { kind: 'complete' }]);
    expect(result.carriers).toBe(2);
  });

  it('the client completes, then the carrier dies with its last acknowledgement: it resumes to deliver it, and both complete', async () => {
    // The mirror of the case above. The target answers after the client's end, so the relay's FIN comes last;
    // the client acknowledges it and its carrier is cut inside that ACK (bytes 5285-5313 here). Without DONE
    // the client completed at once and the relay waited out its window, then reset the target connection.
    const up = [Uint8Array.from([1])];
    const down = [new Uint8Array(5000)];
    const result = await run({ up, down, cuts: [5300], strays: [], bufferBytes: 1024, answerAfterEnd: true });
    expect(result.atTarget.equals(Buffer.concat(up))).toBe(true);
    expect(result.atClient.equals(Buffer.concat(down))).toBe(true);
    expect(result.outcomes).toEqual([{ kind: 'complete' }, { kind: 'complete' }]);
    expect(result.carriers).toBe(2);
  });

  it('a client whose relay never says DONE (one older than it) still completes, after twice deadAfterMs', async () => {
    const [clientApp, clientLocal] = duplexPair();
    const client = new SessionStream(clientLocal, {
      role: 'client',
      bufferBytes: 1024,
      heartbeatMs: 10_000,
      deadAfterMs: 100,
    });
    const done = outcome(client);
    const { a, b, clientKeys, relayKeys } = carrier();
    client.attach(a, clientKeys);
    // An old relay: greets, acknowledges the client's end, sends its own, and says nothing more.
    const say = (frame: Frame) => b.write(relayKeys.sealer.seal(encodeFrame(frame)));
    say({ type: 'welcome', ack: 0, sessionId: randomBytes(16), windowMs: 1000 });
    const ended = new Promise((resolve) => clientLocal.once('end', resolve));
    clientApp.end();
    await ended;
    say({ type: 'fin', ack: 1, offset: 0 });
    expect(await done).toEqual({ kind: 'complete' });
  });

  it('the relay takes a DONE from a client as a protocol error and waits for a resume', async () => {
    const [, relayLocal] = duplexPair();
    const relay = new SessionStream(relayLocal, {
      role: 'relay',
      sessionId: randomBytes(16),
      windowMs: 1000,
      bufferBytes: 1024,
      heartbeatMs: 10_000,
      deadAfterMs: 10_000,
    });
    const lost = new Promise<{ reason: string }>((resolve) => relay.once('carrier-lost', resolve));
    const { a, b, clientKeys, relayKeys } = carrier();
    relay.attach(b, relayKeys);
    for (const frame of [
      { type: 'ack', ack: 0 },
      { type: 'done', ack: 0 },
    ] as Frame[]) {
      a.write(clientKeys.sealer.seal(encodeFrame(frame)));
    }
    expect((await lost).reason).toMatch(/DONE frame from the client/);
    expect(relay.done).toBe(false);
    relay.abort('test over');
  });

  it('a flipped bit anywhere ends that carrier and no corrupt byte is delivered', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 50_000 }),
        fc.uint8Array({ minLength: 1, maxLength: 50_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        async (up, down, flipAt) => {
          const result = await run({
            up: [up],
            down: [down],
            cuts: [],
            strays: [],
            bufferBytes: 64 * 1024,
            flips: [flipAt],
            heartbeatMs: 20,
          });
          // The flipped carrier died (when the flip fell inside its traffic) and the resume made up for it.
          expect(result.atTarget.equals(Buffer.from(up))).toBe(true);
          expect(result.atClient.equals(Buffer.from(down))).toBe(true);
          expect(result.outcomes).toEqual([{ kind: 'complete' }, { kind: 'complete' }]);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it('counts the flipped carrier as lost and replays from the acknowledgement', async () => {
    const up = randomBytes(40_000);
    const result = await run({
      up: [up],
      down: [],
      cuts: [],
      strays: [],
      bufferBytes: 1 << 20,
      flips: [2000],
    });
    expect(result.carriers).toBe(2);
    expect(result.atTarget.equals(up)).toBe(true);
    expect(result.client.stats.replayed).toBeGreaterThan(0);
  });

  it('half-close passes through: the target sees the end, then still answers', async () => {
    const [clientApp, clientLocal] = duplexPair();
    const [relayLocal, targetApp] = duplexPair();
    const limits = { bufferBytes: 65536, heartbeatMs: 60_000, deadAfterMs: 120_000 };
    const client = new SessionStream(clientLocal, { role: 'client', ...limits });
    const relay = new SessionStream(relayLocal, {
      role: 'relay',
      sessionId: randomBytes(16),
      windowMs: 1000,
      ...limits,
    });
    const c = carrier();
    client.attach(c.a, c.clientKeys);
    relay.attach(c.b, c.relayKeys);
    const outcomes = Promise.all([outcome(client), outcome(relay)]);
    const atClient = collect(clientApp);
    clientApp.end('request');
    const request = await collect(targetApp);
    expect(request.toString()).toBe('request');
    expect(client.done).toBe(false);
    targetApp.end('reply after the client finished writing');
    expect((await atClient).toString()).toBe('reply after the client finished writing');
    expect(await outcomes).toEqual([{ kind: 'complete' }, { kind: 'complete' }]);
  });

  it('a slow local reader holds the peer at its buffer size (back-pressure, nothing dropped)', async () => {
    const [clientApp, clientLocal] = duplexPair();
    const [relayLocal, targetApp] = duplexPair();
    const bufferBytes = 64 * 1024;
    const limits = { bufferBytes, heartbeatMs: 60_000, deadAfterMs: 120_000 };
    const client = new SessionStream(clientLocal, { role: 'client', ...limits });
    const relay = new SessionStream(relayLocal, {
      role: 'relay',
      sessionId: randomBytes(16),
      windowMs: 1000,
      ...limits,
    });
    const c = carrier();
    client.attach(c.a, c.clientKeys);
    relay.attach(c.b, c.relayKeys);
    const relayDone = outcome(relay);
    // The target writes 8 MiB as fast as it may; the client app reads nothing.
    const total = 8 * 1024 * 1024;
    let written = 0;
    const pump = async () => {
      while (written < total) {
        written += 16 * 1024;
        if (!targetApp.write(Buffer.alloc(16 * 1024, 1)))
          await new Promise((r) => targetApp.once('drain', r));
      }
    };
    void pump();
    await expect.poll(() => relay.stats.unacked, { timeout: 10_000 }).toBeGreaterThanOrEqual(bufferBytes);
    await new Promise((r) => setImmediate(r));
    // The relay holds at most its buffer (plus one read chunk); the target is paused, not drained into memory.
    expect(relay.stats.unacked).toBeLessThanOrEqual(bufferBytes + 64 * 1024);
    expect(written).toBeLessThan(2 * 1024 * 1024);
    // Then the client reads: everything arrives.
    let got = 0;
    clientApp.on('data', (chunk: Buffer) => {
      got += chunk.length;
    });
    await expect.poll(() => got, { timeout: 20_000 }).toBe(total);
    client.abort('test over');
    expect(await relayDone).toEqual({ kind: 'reset', reason: 'test over', byPeer: true });
  });

  it('a silent carrier (black hole) is declared dead after deadAfterMs of no frames', async () => {
    const [, clientLocal] = duplexPair();
    const client = new SessionStream(clientLocal, {
      role: 'client',
      bufferBytes: 65536,
      heartbeatMs: 50,
      deadAfterMs: 200,
    });
    const [a] = duplexPair(); // nobody ever answers on the far side
    const k = randomBytes(32);
    client.attach(a, { sealer: new FrameSealer(k), opener: new FrameOpener(k), leftover: Buffer.alloc(0) });
    const lost = await new Promise<{ reason: string }>((resolve) => client.once('carrier-lost', resolve));
    expect(lost.reason).toMatch(/no frame for 200 ms/);
    client.abort('test over');
  });
});
