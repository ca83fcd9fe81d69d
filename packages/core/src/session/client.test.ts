import { randomBytes } from 'node:crypto';
import { type Duplex, duplexPair } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type ClientSessionEvent, resumableSession } from './client';
import { encodeFrame, type Frame } from './frames';
import { type CarrierKeys, relayHandshake } from './handshake';

/**
 * A relay written frame by frame: it welcomes the session, answers the client's end of stream with its own, and
 * never says DONE. Then its carrier dies, and it forgets the session (as after a restart).
 */
function forgetfulRelay(key: Buffer) {
  const carriers: Duplex[] = [];
  let openedOne!: (keys: CarrierKeys & { socket: Duplex }) => void;
  const opened = new Promise<CarrierKeys & { socket: Duplex }>((resolve) => {
    openedOne = resolve;
  });
  let known: { id: Buffer; secret: Buffer } | undefined;
  const dial = async () => {
    const [socket, relaySide] = duplexPair();
    carriers.push(socket, relaySide);
    relayHandshake(relaySide, {
      key,
      timeoutMs: 5000,
      lookup: (id) => (known?.id.equals(id) ? known.secret : undefined),
      admit: () => undefined,
    }).then(
      (keys) => {
        if (keys.mode === 'open') known = { id: randomBytes(16), secret: keys.sessionSecret };
        openedOne({ ...keys, socket: relaySide });
      },
      () => undefined,
    );
    return { socket, path: `p${carriers.length / 2}` };
  };
  return {
    dial,
    opened,
    say: (relay: CarrierKeys & { socket: Duplex }, frame: Frame) =>
      relay.socket.write(relay.sealer.seal(encodeFrame(frame))),
    welcome: () => ({ type: 'welcome', ack: 0, sessionId: known?.id as Buffer, windowMs: 60_000 }) as Frame,
    restart() {
      known = undefined;
      for (const carrier of carriers) carrier.destroy();
    },
  };
}

describe('a resumable session on the client', () => {
  it('completes, and says so, when the relay vanishes while it waits for DONE: every byte was through', async () => {
    const key = randomBytes(32);
    const relay = forgetfulRelay(key);
    const [app, local] = duplexPair();
    const events: ClientSessionEvent[] = [];
    // Heartbeats and the TIME_WAIT bound are far off: only the failed resume can end this session.
    const session = resumableSession(local, {
      key,
      dial: relay.dial,
      heartbeatMs: 60_000,
      deadAfterMs: 60_000,
      onEvent: (event) => events.push(event),
    });
    const carrier = await relay.opened;
    relay.say(carrier, relay.welcome());
    await expect.poll(() => session.id).toBeTruthy();
    app.on('data', () => undefined);
    const ended = new Promise((resolve) => local.once('end', resolve));
    app.end();
    await ended;
    // The relay's end reaches the application: the client acknowledged it and now waits for DONE.
    const appEnded = new Promise((resolve) => app.once('end', resolve));
    relay.say(carrier, { type: 'fin', ack: 1, offset: 0 });
    await appEnded;
    expect(events.map((e) => e.type)).toEqual(['session-opened']);
    relay.restart();
    expect(await session.done).toEqual({ kind: 'complete' });
    expect(events.map((e) => e.type)).toEqual(['session-opened', 'carrier-lost', 'session-closed']);
  });
});
