import net from 'node:net';
import { isAlive, startBannerServer } from '@tunnelmux/core/testing';
import { describe, expect, it } from 'vitest';
import { cli, LOCAL_PLUGIN, startUp, testdir } from './harness';

/** Connect to a `tcp://host:port` public address and read the first bytes. */
function banner(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.setTimeout(5000, () => socket.destroy(new Error('no banner')));
    socket.once('data', (chunk: Buffer) => {
      socket.destroy();
      resolve(chunk.toString('latin1'));
    });
    socket.once('error', reject);
  });
}

describe('tunnelmux expose', () => {
  it('publishes a local port through each provider, reports each public address, and withdraws them on stop', async () => {
    const service = await startBannerServer('SSH-2.0-exposed\r\n');
    const work = testdir({
      // Only plugins and options come from the config; its paths and front door are not used by expose.
      'tunnelmux.yaml': [
        `plugins: [${JSON.stringify(LOCAL_PLUGIN)}]`,
        'listen: 127.0.0.1:0',
        'target: 127.0.0.1:9',
        'paths: [{ id: unrelated, provider: local }]',
        'expose: { port: 1, via: [local], options: { local: { readyTimeoutMs: 20000 } } }',
      ].join('\n'),
    });
    const running = await startUp(work.dir, work.env, [], ['expose', String(service.port), '--via', 'local']);
    try {
      const announced = await running.waitFor(
        (line) => line.type === 'public-url' && line.pathId === 'local',
      );
      const url = String(announced.publicUrl);
      expect(url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(await banner(url)).toBe('SSH-2.0-exposed\r\n');
      const status = JSON.parse(
        (await cli(['status', '--json', '--name', 'expose'], { cwd: work.dir, env: work.env })).stdout,
      );
      expect(status.paths.map((p: { id: string }) => p.id)).toEqual(['local']);
      expect(status.paths[0]).toMatchObject({
        mode: 'expose',
        publicUrl: url,
        target: `127.0.0.1:${service.port}`,
      });
      const pid = status.paths[0].pid as number;
      running.process.kill('SIGTERM');
      expect((await running.process).exitCode).toBe(0);
      expect(await isAlive(pid)).toBe(false);
      await expect(banner(url)).rejects.toThrow();
    } finally {
      running.process.kill('SIGKILL');
      await service.close();
      work.cleanup();
    }
  }, 60_000);

  it('explains a bad port and a missing --via', async () => {
    const work = testdir({});
    try {
      const badPort = await cli(['expose', 'ssh', '--via', 'ngrok'], { cwd: work.dir, env: work.env });
      expect(badPort.exitCode).toBe(2);
      expect(badPort.stderr).toContain('<port> must be a port number from 1 to 65535, got "ssh"');
      const noVia = await cli(['expose', '22'], { cwd: work.dir, env: work.env });
      expect(noVia.exitCode).toBe(2);
      expect(noVia.stderr).toContain('--via <providers>');
      const twice = await cli(['expose', '22', '--via', 'ngrok,ngrok'], { cwd: work.dir, env: work.env });
      expect(twice.stderr).toContain('names "ngrok" twice');
    } finally {
      work.cleanup();
    }
  });
});
