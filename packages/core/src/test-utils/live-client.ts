import { createHash } from 'node:crypto';
import net from 'node:net';

/** A client connection held open by a test: it keeps what it receives and can wait (bounded) for more. */
export interface LiveClient {
  readonly socket: net.Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves once at least `bytes` have arrived in total; rejects after `timeoutMs` or if the socket closes first. */
  waitFor(bytes: number, timeoutMs?: number): Promise<void>;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  end(): Promise<void>;
}

/** Connect to 127.0.0.1:`port` and keep the connection open. */
export function liveClient(port: number): Promise<LiveClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let total = 0;
    const waiters = new Set<() => void>();
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      for (const wake of waiters) wake();
    });
    let isClosed = false;
    const closed = new Promise<void>((done) =>
      socket.once('close', () => {
        isClosed = true;
        for (const wake of waiters) wake();
        done();
      }),
    );
    socket.on('error', () => socket.destroy());
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => Buffer.concat(chunks),
        closed,
        waitFor(bytes, timeoutMs = 10_000) {
          return new Promise<void>((ok, fail) => {
            const check = () => {
              if (total >= bytes) finish();
              else if (isClosed) finish(new Error(`the connection closed after ${total} of ${bytes} bytes`));
            };
            const timer = setTimeout(
              () => finish(new Error(`only ${total} of ${bytes} bytes within ${timeoutMs} ms`)),
              timeoutMs,
            );
            const finish = (error?: Error) => {
              clearTimeout(timer);
              waiters.delete(check);
              if (error) fail(error);
              else ok();
            };
            waiters.add(check);
            check();
          });
        },
        end() {
          socket.end();
          return closed;
        },
      }),
    );
    socket.once('error', reject);
  });
}

/**
 * A long echo stream: writes `chunkBytes` of random-ish data every time the previous chunk came back, and
 * hashes what it sent and what it received, so a lost or reordered byte shows as different digests.
 */
export function echoStream(client: LiveClient, offset: number, chunkBytes = 16 * 1024) {
  const sent = createHash('sha256');
  let sentBytes = 0;
  let running = true;
  let seed = 1;
  const chunk = () => {
    const data = Buffer.alloc(chunkBytes);
    for (let i = 0; i < chunkBytes; i += 1) {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      data[i] = seed >>> 24;
    }
    return data;
  };
  const loop = (async () => {
    while (running) {
      const data = chunk();
      sent.update(data);
      sentBytes += data.length;
      client.socket.write(data);
      await client.waitFor(offset + sentBytes);
    }
  })();
  // finish() reports a broken stream; until then, keep the rejection from counting as unhandled.
  loop.catch(() => undefined);
  return {
    /** Bytes echoed back so far (past the banner). */
    echoed: () => client.received().length - offset,
    /** Stop writing, wait for the last echo, and return both digests. */
    async finish() {
      running = false;
      await loop;
      const received = createHash('sha256').update(client.received().subarray(offset)).digest('hex');
      return { sent: sent.digest('hex'), received, bytes: sentBytes };
    },
  };
}
