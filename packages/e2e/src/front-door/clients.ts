import { createHash } from 'node:crypto';
import net from 'node:net';

/** One SSH-like client: connect, read the banner, send a line, read it back. Resolves true on success. */
export function sshLikeRound(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const line = `hello-${Math.random().toString(36).slice(2)}\n`;
    const socket = net.connect({ host: '127.0.0.1', port });
    let text = '';
    let sent = false;
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!sent && text.startsWith('SSH-') && text.includes('\n')) {
        sent = true;
        socket.write(line);
      }
      if (sent && text.endsWith(line)) finish(true);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

/** A client load: one round every `everyMs` until `stop()`; counts ok and failed rounds. */
export function clientLoad(port: number, everyMs: number, timeoutMs: number) {
  const rounds: Promise<boolean>[] = [];
  const timer = setInterval(() => rounds.push(sshLikeRound(port, timeoutMs)), everyMs);
  return {
    async stop() {
      clearInterval(timer);
      const results = await Promise.all(rounds);
      return { ok: results.filter(Boolean).length, failed: results.filter((r) => !r).length };
    },
  };
}

/** Send `payload` after the banner, half-close, and return the sha256 of what came back after the banner. */
export function echoDigest(port: number, payload: Buffer, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('echo timed out')), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.end();
      const all = Buffer.concat(chunks);
      const body = all.subarray(all.indexOf('\n') + 1);
      resolve(createHash('sha256').update(body).digest('hex'));
    });
    socket.end(payload);
  });
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Resolve when `check()` holds, polling every 20 ms, or reject after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
