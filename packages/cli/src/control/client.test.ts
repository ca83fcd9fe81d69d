import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../cli';
import { request, streamEvents } from './client';

let root: string;
let file: string;
const servers: net.Server[] = [];
const peers: net.Socket[] = [];
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tmx-client-'));
  const dir = path.join(root, 'run');
  mkdirSync(dir, { mode: 0o700 });
  file = path.join(dir, 'x.sock');
});
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(root, { recursive: true, force: true });
});

// A private control socket whose server handles each connection with `serve` (by default: reads, never answers).
async function listen(serve: (socket: net.Socket) => void = () => undefined): Promise<void> {
  const server = net.createServer((socket) => {
    peers.push(socket);
    socket.on('error', () => undefined);
    serve(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(file, resolve));
  chmodSync(file, 0o600);
}

// Answers each request line as a real `up` would: `info` at once, `events --follow` only when told to.
function answering(onFollow: (send: (event: unknown) => void) => void) {
  return (socket: net.Socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, newline)) as { id: number; method: string };
        buffered = buffered.slice(newline + 1);
        if (line.method === 'info')
          socket.write(`${JSON.stringify({ id: line.id, ok: true, result: {} })}\n`);
        if (line.method === 'events')
          onFollow((event) => socket.write(`${JSON.stringify({ id: line.id, event })}\n`));
      }
    });
  };
}

describe('the control client, bounded against an instance that accepts but never answers', () => {
  it('gives up after the timeout and says what to do', async () => {
    await listen();
    const started = Date.now();
    const error = await request(file, 'status', undefined, { timeout: 300 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(
      `[tunnelmux] the tunnelmux at ${file} did not answer within 300ms. Is it stopped (Ctrl-Z or SIGSTOP)? ` +
        'Resume it with `kill -CONT <pid>`',
    );
    expect((error as Error).message).toContain('--timeout <duration>');
    expect((error as { exitCode?: number }).exitCode).toBe(1);
    // Generous: catches only a wait that never ends.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('is given up on by `tunnelmux status --timeout`, exit 1', async () => {
    await listen();
    const stderr: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => stderr.push(text) > 0) as typeof process.stderr.write;
    try {
      expect(await run(['node', 'tunnelmux', 'status', '--socket', file, '--timeout', '250ms'])).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join('')).toContain(`the tunnelmux at ${file} did not answer within 250ms`);
  });

  it('refuses a --timeout that is not a duration, exit 2', async () => {
    const write = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      for (const bad of ['soon', '0', '-1s', '1e3', '400d'])
        expect(await run(['node', 'tunnelmux', 'status', '--socket', file, '--timeout', bad]), bad).toBe(2);
    } finally {
      process.stderr.write = write;
    }
  });

  it('leaves no timer behind when it cannot connect, so a failed command exits at once', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    await expect(request(file, 'status')).rejects.toThrow(/no tunnelmux is running/);
    expect(timers()).toBe(before);
  });

  it('gives up on `events --follow` that never starts', async () => {
    await listen();
    const stream = streamEvents(file, {}, undefined, { timeout: 300 });
    await expect(stream.next()).rejects.toThrow(/did not answer within 300ms/);
  });

  it('lets `events --follow` stay quiet past the timeout once the instance answered', async () => {
    let send: ((event: unknown) => void) | undefined;
    await listen(
      answering((s) => {
        send = s;
      }),
    );
    const stream = streamEvents(file, {}, undefined, { timeout: 200 });
    const next = stream.next();
    await expect.poll(() => send, { timeout: 10_000 }).toBeDefined();
    // Quiet for several timeouts: a stream with nothing to say is not a hung instance.
    const quiet = await Promise.race([
      next.then(() => 'ended'),
      new Promise((resolve) => setTimeout(resolve, 1000, 'still open')),
    ]);
    expect(quiet).toBe('still open');
    send?.({ type: 'warning', message: 'late' });
    expect(await next).toEqual({ done: false, value: { type: 'warning', message: 'late' } });
    await stream.return(undefined);
  });
});
