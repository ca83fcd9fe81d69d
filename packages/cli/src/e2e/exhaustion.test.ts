import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type BannerTarget, startBannerTarget } from '@tunnelmux/testkit';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, localConfig, testdir } from './harness';

// Exhaustion and hostile peers against the real `tunnelmux up` (issue 18, part 3).

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `tunnelmux up --json` under a shell prefix (e.g. `ulimit -n 256`), with its NDJSON lines. */
function startUnder(prefix: string, cwd: string, env: NodeJS.ProcessEnv) {
  const child = execa('bash', ['-c', `${prefix}; exec "$0" "$@"`, process.execPath, BIN, 'up', '--json'], {
    cwd,
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    buffer: false,
  });
  const lines: Record<string, unknown>[] = [];
  let rest = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) if (text.trim()) lines.push(JSON.parse(text) as Record<string, unknown>);
  });
  let exited = false;
  void child.then(() => {
    exited = true;
  });
  cleanups.push(async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await child;
    clearTimeout(timer);
  });
  return {
    child,
    lines,
    get exited() {
      return exited;
    },
    stderr: () => stderr,
  };
}

/** Open `count` clients at once from a helper process allowed enough descriptors; hold them until all settle. */
async function burst(port: number, count: number) {
  const script = `
    import net from 'node:net';
    const port = ${port}, count = ${count};
    const sockets = [];
    const outcomes = await Promise.all(Array.from({ length: count }, () => new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      sockets.push(socket);
      const timer = setTimeout(() => resolve('timeout'), 20000);
      socket.once('data', () => { clearTimeout(timer); resolve('served'); });
      socket.once('error', (e) => { clearTimeout(timer); resolve(e.code || 'error'); });
      socket.once('close', () => { clearTimeout(timer); resolve('closed'); });
    })));
    const counts = {};
    for (const o of outcomes) counts[o] = (counts[o] || 0) + 1;
    for (const s of sockets) s.destroy();
    process.stdout.write(JSON.stringify(counts));
  `;
  const result = await execa(
    'bash',
    [
      '-c',
      'ulimit -Sn "$(ulimit -Hn)" 2>/dev/null; exec "$0" --input-type=module -e "$1"',
      process.execPath,
      script,
    ],
    {
      reject: false,
      timeout: 60_000,
    },
  );
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, number>;
}

/** One SSH-like round: banner, a line, its echo. */
function round(port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const line = 'ping\n';
    let text = '';
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      const first = text.length === 0;
      text += chunk.toString('latin1');
      if (first && text.startsWith('SSH-')) socket.write(line);
      if (text.endsWith(line)) finish(true);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

async function world(prefix: string, paths = ['a', 'b']) {
  const target: BannerTarget = await startBannerTarget();
  cleanups.push(() => target.close());
  const t = testdir();
  cleanups.push(t.cleanup);
  const port = await freePortOf();
  writeFileSync(
    path.join(t.dir, 'tunnelmux.yaml'),
    localConfig(target, paths).replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${port}`),
  );
  const up = startUnder(prefix, t.dir, t.env);
  await expect
    .poll(() => up.lines.some((l) => l.type === 'ready') || up.exited, { timeout: 30_000 })
    .toBe(true);
  expect(up.exited, up.stderr()).toBe(false);
  return { up, port, target };
}

function freePortOf(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('exhaustion', () => {
  it('ulimit -n 256 and 1,000 clients at once: refuses what it cannot take, warns once, serves again, never crashes', async () => {
    const { up, port } = await world('ulimit -n 256');
    const outcomes = await burst(port, 1000);
    const served = outcomes.served ?? 0;
    // Some clients got through, the rest were turned away (reset or closed), none hung until the timeout.
    expect(served, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(1000 - served, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.timeout ?? 0, JSON.stringify(outcomes)).toBe(0);
    // The burst ends with one line; EMFILE was said once for the whole burst, not per connection.
    await expect
      .poll(
        () => up.lines.filter((l) => l.type === 'warning' && /serving again/.test(String(l.message))).length,
        {
          timeout: 15_000,
        },
      )
      .toBeGreaterThanOrEqual(1);
    // (The stand-in tools share the limit and may log their own accept errors: those are the tools' lines.)
    const emfile = up.lines.filter((l) => l.type !== 'log' && JSON.stringify(l).includes('EMFILE'));
    expect(emfile.map((l) => JSON.stringify(l).slice(0, 300))).toHaveLength(1);
    expect(emfile[0]).toMatchObject({
      type: 'warning',
      message: expect.stringMatching(/^front door: out of file descriptors/),
    });
    // Our own exhaustion is not the paths' fault: no path was marked down for it.
    expect(up.lines.filter((l) => l.type === 'state-change' && l.from === 'connected')).toEqual([]);
    // The clients are gone: it serves again at once.
    await expect.poll(() => round(port), { timeout: 10_000 }).toBe(true);
    expect(up.exited, up.stderr()).toBe(false);
  }, 120_000);
});
