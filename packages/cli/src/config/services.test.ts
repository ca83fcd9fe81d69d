import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigFileError, loadConfig } from './load';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-services-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string, name = 'tunnelmux.yaml') {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return loadConfig(file);
}

function problems(text: string): string[] {
  try {
    load(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigFileError);
    return (error as Error).message.split('\n').map((line) => line.replace(/^.*?(tunnelmux\.\w+:)/, '$1'));
  }
  throw new Error('the config was accepted');
}

const TWO = `failover: { interval: 1s, fall: 4 }
drain: 5s
services:
  ssh:
    listen: 127.0.0.1:2222
    target: devbox:22
    protocol: ssh
    failover: { fall: 2 }
    paths:
      - { id: ts, provider: tailscale }
      - { id: cf, provider: cloudflare, options: { hostname: ssh.example.com } }
  db:
    listen: 127.0.0.1:5432
    target: db:5432
    strategy: latency
    drain: 1m
    paths:
      - { id: ts, provider: tailscale }
`;

describe('services:', () => {
  it('normalises to one service per entry, merging top-level failover field by field', () => {
    const { config } = load(TWO);
    expect(config.services.map((s) => s.name)).toEqual(['ssh', 'db']);
    const [ssh, db] = config.services;
    // ssh overrides fall; interval comes from the top level; timeout from core's default.
    expect(ssh).toMatchObject({ listen: '127.0.0.1:2222', protocol: 'ssh', drain: 5000 });
    expect(ssh?.failover).toMatchObject({ interval: 1000, fall: 2, timeout: 1000 });
    expect(db?.failover).toMatchObject({ interval: 1000, fall: 4 });
    expect(db).toMatchObject({ strategy: 'latency', drain: 60_000, target: { host: 'db', port: 5432 } });
    // The same path id in two services is fine; every path is still listed once per service.
    expect(config.paths.map((p) => p.id)).toEqual(['ts', 'cf', 'ts']);
  });

  it('points the options of a service path at its own line', () => {
    const loaded = load(TWO);
    expect(loaded.optionsField(1)).toEqual(['services', 'ssh', 'paths', 1, 'options']);
    expect(loaded.locate(['services', 'ssh', 'paths', 1, 'options', 'hostname'])).toMatch(
      /tunnelmux\.yaml:11:\d+$/,
    );
  });

  it('keeps the single-service form as one service named default', () => {
    const { config } = load('listen: 2222\ntarget: devbox:22\npaths: [{ id: a, provider: ssh }]\n');
    expect(config.services).toHaveLength(1);
    expect(config.services[0]).toMatchObject({ name: 'default', listen: 2222, drain: 30_000, field: [] });
    expect(config.services[0]?.failover.fall).toBe(3);
  });

  it('refuses mixing the two forms, pointing at the single-service field', () => {
    expect(problems(`listen: 127.0.0.1:1\n${TWO}`)).toEqual([
      'tunnelmux.yaml:1:1: listen belongs to one service when services: is used; move it into each service (services.<name>.listen), or drop services: for the single-service form',
    ]);
  });

  it('refuses a bad service name, naming the rule', () => {
    const [line] = problems(TWO.replace('  db:', '  "my db":'));
    expect(line).toMatch(
      /^tunnelmux\.yaml:12:3: services\."my db" must be letters, digits, dot, dash or underscore \(max 63, starting with a letter or digit\), got "my db"/,
    );
  });

  it('refuses duplicate path ids within a service, naming file, line and field', () => {
    expect(problems(TWO.replace('id: cf', 'id: ts'))).toEqual([
      'tunnelmux.yaml:11:15: services.ssh.paths.1.id must be unique within the service, got "ts" (string) which services.ssh.paths.0.id already uses',
    ]);
  });

  it('names a bad field inside a service with its line', () => {
    expect(problems(TWO.replace('failover: { fall: 2 }', 'failover: { fall: two }'))).toEqual([
      'tunnelmux.yaml:8:23: services.ssh.failover.fall must be a number, got "two" (string)',
    ]);
    const [unknown] = problems(TWO.replace('    protocol: ssh', '    protocl: ssh'));
    expect(unknown).toMatch(
      /^tunnelmux\.yaml:7:5: services\.ssh\.protocl is not a known field; expected one of listen/,
    );
  });

  it('needs a target for each path of a service', () => {
    expect(problems(TWO.replace('    target: db:5432\n', ''))).toEqual([
      'tunnelmux.yaml:17:9: services.db.paths.0.target is missing: set a target on the service (services.db.target) (host:port such as devbox.internal:22 or [::1]:22) or a target on this path',
    ]);
  });
});

describe('expose: with several ports', () => {
  it('gives each port its paths, with ids provider-port', () => {
    const { config } = load(
      'expose:\n  - { port: 22, via: [ngrok, cloudflare] }\n  - { port: 5432, via: [ngrok], options: { ngrok: { region: eu } } }\n',
    );
    expect(config.paths.map((p) => [p.id, p.target?.port])).toEqual([
      ['ngrok-22', 22],
      ['cloudflare-22', 22],
      ['ngrok-5432', 5432],
    ]);
    expect(config.paths[2]?.options).toEqual({ region: 'eu' });
  });

  it('runs beside services as a service named expose', () => {
    const { config } = load(`${TWO}expose: { port: 22, via: [ngrok] }\n`);
    expect(config.services.map((s) => s.name)).toEqual(['ssh', 'db', 'expose']);
    expect(config.services[2]?.paths.map((p) => p.id)).toEqual(['ngrok']);
  });
});

describe('strategy:', () => {
  it('folds into the failover settings, and a clash with failover.strategy is refused', () => {
    const { config } = load(TWO);
    expect(config.services[1]?.strategy).toBe('latency');
    expect(
      problems(
        TWO.replace('    strategy: latency', '    strategy: latency\n    failover: { strategy: priority }'),
      ),
    ).toEqual([
      'tunnelmux.yaml:15:15: services.db.strategy is "latency" but failover.strategy says "priority"; keep one of them',
    ]);
  });
});

describe('strategy: reaches the engine', () => {
  it("is core's failover strategy, with the service's latency margins", async () => {
    const { createManager } = await import('@tunnelmux/core');
    const { failoverOf } = await import('./diff');
    const { config } = load(
      TWO.replace(
        '    strategy: latency',
        '    strategy: latency\n    failover: { latencyMargin: 7ms, latencyDwell: 2s }',
      ),
    );
    const db = config.services[1]!;
    const manager = createManager({ service: db.name, failover: failoverOf(db) });
    try {
      expect(manager.failoverSettings).toMatchObject({
        strategy: 'latency',
        latencyMargin: 7,
        latencyDwell: 2000,
        // From the top-level defaults.
        interval: 1000,
        fall: 4,
      });
    } finally {
      await manager.shutdown();
    }
  });
});
