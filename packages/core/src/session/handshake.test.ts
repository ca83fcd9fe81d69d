import { randomBytes } from 'node:crypto';
import { type Duplex, duplexPair } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from './frames';
import { type CarrierKeys, clientHandshake, relayHandshake, Status } from './handshake';
import { MAGIC } from './limits';

const never = () => undefined;

function relayOf(socket: Duplex, key: Buffer, sessions = new Map<string, Buffer>()) {
  return relayHandshake(socket, {
    key,
    timeoutMs: 2000,
    lookup: (id) => sessions.get(id.toString('hex')),
    admit: never,
  });
}

// Frames sealed by one side open on the other: the derived keys agree.
function talk(from: CarrierKeys, to: CarrierKeys): string {
  const sealed = from.sealer.seal(encodeFrame({ type: 'reset', reason: 'ping' }));
  const frame = decodeFrame(to.opener.open(sealed.subarray(0, 4), sealed.subarray(4)));
  return frame.type === 'reset' ? frame.reason : frame.type;
}

describe('handshake', () => {
  it('both sides prove the same key and derive matching per-carrier keys', async () => {
    const key = randomBytes(32);
    const [c, r] = duplexPair();
    const [client, relay] = await Promise.all([
      clientHandshake(c, { key, mode: 'open', timeoutMs: 2000 }),
      relayOf(r, key),
    ]);
    expect(client.sessionSecret.equals(relay.sessionSecret)).toBe(true);
    expect(talk(client, relay)).toBe('ping');
    expect(talk(relay, client)).toBe('ping');
  });

  it('a wrong key is refused by both sides', async () => {
    const [c, r] = duplexPair();
    const results = await Promise.allSettled([
      clientHandshake(c, { key: randomBytes(32), mode: 'open', timeoutMs: 2000 }),
      relayOf(r, randomBytes(32)),
    ]);
    expect(results.map((x) => x.status === 'rejected' && (x.reason as { reason: string }).reason)).toEqual([
      'key-refused',
      'key-refused',
    ]);
  });

  it('each handshake uses fresh nonces: two opens with one key derive different session secrets', async () => {
    const key = randomBytes(32);
    const secrets: Buffer[] = [];
    for (let i = 0; i < 2; i++) {
      const [c, r] = duplexPair();
      const [client] = await Promise.all([
        clientHandshake(c, { key, mode: 'open', timeoutMs: 2000 }),
        relayOf(r, key),
      ]);
      secrets.push(client.sessionSecret);
    }
    expect(secrets[0]?.equals(secrets[1] as Buffer)).toBe(false);
  });

  it('a resume proves the session secret, not just the shared key', async () => {
    const key = randomBytes(32);
    const id = randomBytes(16);
    const secret = randomBytes(32);
    const sessions = new Map([[id.toString('hex'), secret]]);
    const [c1, r1] = duplexPair();
    const [ok] = await Promise.all([
      clientHandshake(c1, { key, mode: 'resume', session: { id, secret }, timeoutMs: 2000 }),
      relayOf(r1, key, sessions),
    ]);
    expect(ok.mode).toBe('resume');
    const [c2, r2] = duplexPair();
    const results = await Promise.allSettled([
      clientHandshake(c2, { key, mode: 'resume', session: { id, secret: randomBytes(32) }, timeoutMs: 2000 }),
      relayOf(r2, key, sessions),
    ]);
    expect(results.map((x) => x.status)).toEqual(['rejected', 'rejected']);
  });

  it('an unknown session id is refused before any proof', async () => {
    const key = randomBytes(32);
    const [c, r] = duplexPair();
    const results = await Promise.allSettled([
      clientHandshake(c, {
        key,
        mode: 'resume',
        session: { id: randomBytes(16), secret: randomBytes(32) },
        timeoutMs: 2000,
      }),
      relayOf(r, key),
    ]);
    expect(results.map((x) => x.status === 'rejected' && (x.reason as { reason: string }).reason)).toEqual([
      'unknown-session',
      'unknown-session',
    ]);
  });

  it('a replayed client handshake fails against a fresh relay nonce', async () => {
    const key = randomBytes(32);
    const [c, r] = duplexPair();
    const sent: Buffer[] = [];
    r.on('data', (chunk: Buffer) => sent.push(chunk));
    await Promise.all([clientHandshake(c, { key, mode: 'open', timeoutMs: 2000 }), relayOf(r, key)]);
    const recorded = Buffer.concat(sent);
    const [attacker, r2] = duplexPair();
    const refused = relayOf(r2, key);
    attacker.write(recorded);
    await expect(refused).rejects.toMatchObject({ reason: 'key-refused' });
  });

  it('refuses another protocol version with its status', async () => {
    const [c, r] = duplexPair();
    const refused = relayOf(r, randomBytes(32));
    const answer: Buffer[] = [];
    c.on('data', (chunk: Buffer) => answer.push(chunk));
    c.write(Buffer.concat([MAGIC, Buffer.of(99, 1), randomBytes(32)]));
    await expect(refused).rejects.toMatchObject({ reason: 'unsupported-version' });
    await expect.poll(() => Buffer.concat(answer).at(-1)).toBe(Status.version);
  });

  it('times out a peer that never finishes', async () => {
    const [, r] = duplexPair();
    await expect(
      relayHandshake(r, { key: randomBytes(32), timeoutMs: 100, lookup: never, admit: never }),
    ).rejects.toMatchObject({ reason: 'handshake-timeout' });
  });
});
