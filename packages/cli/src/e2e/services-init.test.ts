import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load';
import { cli, testdir } from './harness';

describe('init --services', () => {
  it('writes a two-service config that loads and that doctor accepts', async () => {
    const fresh = testdir();
    try {
      const result = await cli(['init', '--yes', '--services', 'ssh,db'], { cwd: fresh.dir, env: fresh.env });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/with 2 services/);
      const file = path.join(fresh.dir, 'tunnelmux.yaml');
      expect(readFileSync(file, 'utf8')).not.toMatch(/[&*]a\d/);
      const { config } = loadConfig(file);
      expect(config.services.map((s) => [s.name, s.listen, s.protocol])).toEqual([
        ['ssh', '127.0.0.1:2222', 'ssh'],
        ['db', '127.0.0.1:15432', 'tcp'],
      ]);
      expect(config.services[0]?.paths.length).toBeGreaterThan(0);
      const doctor = await cli(['doctor', '--json'], { cwd: fresh.dir, env: fresh.env });
      expect(JSON.parse(doctor.stdout).checks[0]).toMatchObject({ check: 'config', ok: true });
    } finally {
      fresh.cleanup();
    }
  });

  it('refuses a bad service name, naming it', async () => {
    const fresh = testdir();
    try {
      const result = await cli(['init', '--yes', '--services', 'ssh,my db'], {
        cwd: fresh.dir,
        env: fresh.env,
      });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('service name "my db" must be letters, digits');
    } finally {
      fresh.cleanup();
    }
  });
});
