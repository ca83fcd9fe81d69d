import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigFileError, loadConfig } from './load';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

// The message a user reads for this config, with the folder taken out.
function problems(text: string, name = 'tunnelmux.yaml'): string[] {
  try {
    loadConfig(write(name, text));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigFileError);
    expect((error as ConfigFileError).exitCode).toBe(2);
    return (error as Error).message.split('\n').map((line) => line.replace(/^.*?(tunnelmux\.\w+:)/, '$1'));
  }
  throw new Error('the config was accepted');
}

const GOOD = `listen: 127.0.0.1:2222
target: devbox.internal:22
protocol: ssh
failover: { interval: 2s, timeout: 1s, fall: 3, rise: 2, maxLatency: 500ms, autoRecover: true, firstByteTimeout: 2s }
paths:
  - { id: ts, provider: tailscale, priority: 1, options: { host: devbox } }
  - { id: cf, provider: cloudflare, priority: 2, options: { hostname: ssh.example.com } }
  - { id: jump, provider: ssh, priority: 3, target: 10.0.0.5:22, options: { host: jump.example.com, user: me } }
`;

describe('loadConfig', () => {
  it('accepts the documented example', () => {
    const loaded = loadConfig(write('tunnelmux.yaml', GOOD));
    expect(loaded.config.paths.map((p) => p.id)).toEqual(['ts', 'cf', 'jump']);
    expect(loaded.config.failover?.interval).toBe(2000);
    expect(loaded.config.paths[2]?.target).toEqual({ host: '10.0.0.5', port: 22 });
    expect(loaded.locate(['paths', 1, 'options', 'hostname'])).toMatch(/tunnelmux\.yaml:7:\d+$/);
  });

  it('accepts the same config as JSON', () => {
    const json = JSON.stringify(
      { target: 'devbox:22', paths: [{ id: 'a', provider: 'ssh', options: { host: 'x' } }] },
      null,
      2,
    );
    expect(loadConfig(write('tunnelmux.json', json)).config.target).toEqual({ host: 'devbox', port: 22 });
  });

  it('names the line, field, value and expectation of a bad duration', () => {
    expect(problems(GOOD.replace('interval: 2s', 'interval: soon'))).toEqual([
      'tunnelmux.yaml:4:23: failover.interval must be a duration such as 500ms, 2s or 1m (or a number of milliseconds), got "soon" (string)',
    ]);
  });

  it('names a bad target on a path', () => {
    expect(problems(GOOD.replace('target: 10.0.0.5:22', 'target: 10.0.0.5'))).toEqual([
      'tunnelmux.yaml:8:53: paths.2.target must be host:port such as devbox.internal:22 or [::1]:22, got "10.0.0.5" (string)',
    ]);
  });

  it('points at an unknown key and lists the known ones', () => {
    const [line] = problems(GOOD.replace('protocol: ssh', 'protocl: ssh'));
    expect(line).toMatch(
      /^tunnelmux\.yaml:3:1: protocl is not a known field; expected one of name, listen, target, protocol/,
    );
  });

  it('names an unknown protocol with the allowed values', () => {
    expect(problems(GOOD.replace('protocol: ssh', 'protocol: udp'))).toEqual([
      'tunnelmux.yaml:3:11: protocol must be one of "ssh", "tcp", got "udp" (string)',
    ]);
  });

  it('says a required field is missing', () => {
    expect(problems('target: devbox:22\n')).toEqual([
      'tunnelmux.yaml:1:1: paths is missing: list at least one path under paths, or add an expose section',
    ]);
  });

  it('refuses duplicate path ids and a path without any target', () => {
    const text = 'paths:\n  - { id: a, provider: ssh }\n  - { id: a, provider: ssh, target: x:22 }\n';
    expect(problems(text)).toEqual([
      'tunnelmux.yaml:2:5: paths.0.target is missing: set a top-level target (host:port such as devbox.internal:22 or [::1]:22) or a target on this path',
      'tunnelmux.yaml:3:11: paths.1.id must be unique, got "a" (string) which paths.0.id already uses',
    ]);
  });

  it('names a wrong type and a bad number', () => {
    expect(problems(GOOD.replace('fall: 3', 'fall: three').replace('rise: 2', 'rise: 0'))).toEqual([
      'tunnelmux.yaml:4:46: failover.fall must be a number, got "three" (string)',
      'tunnelmux.yaml:4:59: failover.rise must be at least 1, got 0 (number)',
    ]);
  });

  it('accepts every failover setting core documents, such as drainBeforeRestart', () => {
    const loaded = loadConfig(
      write(
        'drain.yaml',
        GOOD.replace('firstByteTimeout: 2s', 'firstByteTimeout: 2s, drainBeforeRestart: 5s'),
      ),
    );
    expect(loaded.config.failover?.drainBeforeRestart).toBe(5000);
  });

  it('bounds every duration and says the maximum (2^31-1 ms timers fire at once)', () => {
    expect(problems(GOOD.replace('interval: 2s', 'interval: 999999999999'))).toEqual([
      'tunnelmux.yaml:4:23: failover.interval must be at most 1h, got 999999999999 (number)',
    ]);
    expect(problems(GOOD.replace('firstByteTimeout: 2s', 'firstByteTimeout: 2s, openTimeout: 1e30'))).toEqual(
      [expect.stringMatching(/failover\.openTimeout must be at most 1h, got 1e\+30 \(number\)$/)],
    );
    expect(problems(GOOD.replace('firstByteTimeout: 2s', 'firstByteTimeout: 30d'))).toEqual([
      expect.stringMatching(/failover\.firstByteTimeout must be at most 10m, got "30d" \(string\)$/),
    ]);
  });

  it('reports a huge count once, with one maximum', () => {
    expect(problems(GOOD.replace('fall: 3', 'fall: 1e308'))).toEqual([
      'tunnelmux.yaml:4:46: failover.fall must be at most 100, got 1e+308 (number)',
    ]);
  });

  it('keeps the error short when a value is huge (a 4 MB line)', () => {
    const huge = 'x'.repeat(4_000_000);
    const lines = problems(`target: ${huge}\npaths: [{ id: a, provider: ssh }]\n`);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(500);
    expect(lines[0]).toContain(`… (${4_000_000 - 200} more)`);
    const key = problems(`target: h:22\n${huge}: 1\npaths: [{ id: a, provider: ssh }]\n`);
    expect(key.join('\n').length).toBeLessThan(1000);
  });

  it('reports YAML syntax errors with their position', () => {
    // Exact line and column, both past 1, so neither can be dropped or swapped unnoticed.
    expect(problems('listen: 127.0.0.1:2222\npaths:\n  - { id: a, provider: ssh }}\n')).toEqual([
      'tunnelmux.yaml:3:29: is not valid YAML: Unexpected flow-map-end token in YAML stream: "}"',
    ]);
    expect(problems('listen: 127.0.0.1:2222\ntarget: devbox: 22\n')).toEqual([
      'tunnelmux.yaml:2:9: is not valid YAML: Nested mappings are not allowed in compact mappings',
    ]);
  });

  it('reports JSON syntax errors as JSON', () => {
    expect(problems('{\n  "listen": "127.0.0.1:2222",\n  "paths": [ }\n}', 'tunnelmux.json')).toEqual([
      'tunnelmux.json:3:14: is not valid JSON: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });
});

// Each kind of problem in the words a user reads, with its position: mutation testing (docs/mutation.md) showed
// that a reworded or misplaced message went unnoticed.
describe('the wording and place of each kind of problem', () => {
  it.each([
    [
      'a document that is a number',
      '42\n',
      'tunnelmux.yaml:1:1: must be a mapping with listen, target and paths, got 42 (number)',
    ],
    [
      'a document that is a list',
      '- a\n- b\n',
      'tunnelmux.yaml:1:1: must be a mapping with listen, target and paths, got a list of 2',
    ],
    [
      'a missing provider',
      'target: a:22\npaths: [{ id: a }]\n',
      'tunnelmux.yaml:2:9: paths.0.provider is required, got nothing',
    ],
    [
      'a bad listen',
      'listen: nope\ntarget: a:22\npaths: [{ id: a, provider: ssh }]\n',
      'tunnelmux.yaml:1:9: listen must be host:port such as 127.0.0.1:2222, or a port number, got "nope" (string)',
    ],
    [
      'a bad path id',
      'target: a:22\npaths: [{ id: "-x", provider: ssh }]\n',
      'tunnelmux.yaml:2:15: paths.0.id must be letters, digits, dot, dash or underscore (max 63, starting with a letter or digit), got "-x" (string)',
    ],
    [
      'a bad provider id',
      'target: a:22\npaths: [{ id: a, provider: "Bad!" }]\n',
      'tunnelmux.yaml:2:28: paths.0.provider must be a provider id such as tailscale, cloudflare, ngrok or ssh, got "Bad!" (string)',
    ],
    [
      'a number for a path id',
      'target: a:22\npaths: [{ id: 5, provider: ssh }]\n',
      'tunnelmux.yaml:2:15: paths.0.id must be letters, digits, dot, dash or underscore (max 63, starting with a letter or digit), got 5 (number)',
    ],
    [
      'a number for a provider',
      'target: a:22\npaths: [{ id: a, provider: 5 }]\n',
      'tunnelmux.yaml:2:28: paths.0.provider must be a provider id such as tailscale, cloudflare, ngrok or ssh, got 5 (number)',
    ],
    [
      'an empty paths list',
      'target: a:22\npaths: []\n',
      'tunnelmux.yaml:2:8: paths must list at least one path, got a list of 0',
    ],
    [
      'a number too small',
      'expose: { port: 0, via: [ngrok] }\n',
      'tunnelmux.yaml:1:17: expose.port must be at least 1, got 0 (number)',
    ],
    [
      'a number too big',
      'expose: { port: 70000, via: [ngrok] }\n',
      'tunnelmux.yaml:1:17: expose.port must be at most 65535, got 70000 (number)',
    ],
    [
      'a fraction for a whole number',
      'expose: { port: 1.5, via: [ngrok] }\n',
      'tunnelmux.yaml:1:17: expose.port must be a whole number, got 1.5 (number)',
    ],
    [
      'a mapping for a list',
      'target: a:22\npaths: { a: 1 }\n',
      'tunnelmux.yaml:2:8: paths must be a list, got {"a":1} (mapping)',
    ],
    [
      'a list for a mapping',
      'target: a:22\nfailover: [1]\npaths: [{ id: a, provider: ssh }]\n',
      'tunnelmux.yaml:2:11: failover must be a mapping, got a list of 1',
    ],
    [
      'a list for an enum',
      'target: a:22\nprotocol: [ssh]\npaths: [{ id: a, provider: ssh }]\n',
      'tunnelmux.yaml:2:11: protocol must be one of "ssh", "tcp", got a list of 1',
    ],
    [
      'a long mapping, clipped',
      'target: a:22\nplugins: { aaaaaaaaaaaaaaaaaaaa: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, c: d }\npaths: [{ id: a, provider: ssh }]\n',
      'tunnelmux.yaml:2:10: plugins must be a list, got {"aaaaaaaaaaaaaaaaaaaa":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb... (mapping)',
    ],
    [
      'a value breaking two rules, once',
      'target: a:22\npaths: [{ id: a, provider: ssh, priority: -1.5 }]\n',
      'tunnelmux.yaml:2:43: paths.0.priority must be a whole number, got -1.5 (number)',
    ],
    [
      'a second path with bad options',
      'target: a:22\npaths:\n  - { id: a, provider: ssh }\n  - { id: b, provider: ssh, options: [1] }\n',
      'tunnelmux.yaml:4:38: paths.1.options must be a record, got a list of 1',
    ],
    [
      'an unknown failover field',
      'target: a:22\nfailover: { intervall: 1s }\npaths: [{ id: a, provider: ssh }]\n',
      'tunnelmux.yaml:2:13: failover.intervall is not a known field; expected one of interval, fastInterval, jitter, timeout, maxLatency, fall, rise, autoRecover, minDwell, firstByteTimeout, openTimeout, backoffInitial, backoffMax, stableAfter, drainBeforeRestart, strategy, latencyMargin, latencyMarginPercent, latencyDwell',
    ],
    [
      'an unknown path field',
      'target: a:22\npaths: [{ id: a, provider: ssh, prio: 1 }]\n',
      'tunnelmux.yaml:2:33: paths.0.prio is not a known field; expected one of id, provider, priority, mode, target, protocol, options',
    ],
    [
      'an unknown expose field',
      'expose: { port: 22, via: [ngrok], nope: 1 }\n',
      'tunnelmux.yaml:1:35: expose.nope is not a known field',
    ],
  ])('%s', (_what, text, expected) => {
    expect(problems(text)).toEqual(expected.split('\n'));
  });

  it('points at each path without a target, on its own line', () => {
    expect(
      problems('listen: 2222\npaths:\n  - id: a\n    provider: ssh\n  - { id: b, provider: ssh }\n'),
    ).toEqual([
      'tunnelmux.yaml:3:5: paths.0.target is missing: set a top-level target (host:port such as devbox.internal:22 or [::1]:22) or a target on this path',
      'tunnelmux.yaml:5:5: paths.1.target is missing: set a top-level target (host:port such as devbox.internal:22 or [::1]:22) or a target on this path',
    ]);
  });

  it('clips a long unknown key at 120 characters, and not one shorter', () => {
    const base = 'target: a:22\npaths: [{ id: a, provider: ssh }]\n';
    expect(problems(`${base}${'k'.repeat(120)}: 1\n`)[0]).toMatch(
      /^tunnelmux\.yaml:3:1: k{120} is not a known field/,
    );
    expect(problems(`${base}${'k'.repeat(130)}: 1\n`)[0]).toMatch(
      /^tunnelmux\.yaml:3:1: k{120}… \(10 more\) is not a known field/,
    );
  });

  it("locates fields of an accepted config, and where each path's options were written", () => {
    const loaded = loadConfig(
      write(
        'tunnelmux.yaml',
        'paths: [{ id: a, provider: ssh, target: b:22 }]\nexpose: { port: 22, via: [ngrok, tailscale] }\n',
      ),
    );
    const shown = path.relative(process.cwd(), path.join(dir, 'tunnelmux.yaml'));
    expect(loaded.position(['paths', 0])).toEqual({ file: shown, line: 1, col: 9 });
    expect(loaded.locate(['expose', 'via', 1])).toBe(`${shown}:2:34`);
    expect(loaded.optionsField(0)).toEqual(['paths', 0, 'options']);
    expect(loaded.optionsField(2)).toEqual(['expose', 'options', 'tailscale']);
  });

  it('names the file relative to the working folder, and the error class', () => {
    const error = (() => {
      try {
        loadConfig(write('tunnelmux.yaml', '42\n'));
      } catch (caught) {
        return caught as ConfigFileError;
      }
    })();
    expect(error?.name).toBe('ConfigFileError');
    expect(error?.problems[0]?.file).toBe(path.relative(process.cwd(), path.join(dir, 'tunnelmux.yaml')));
  });
});

describe('inputs the fuzzer found (load.fuzz.test.ts)', () => {
  it('refuses an alias without its anchor, and an alias bomb, as YAML errors (they threw a ReferenceError)', () => {
    expect(problems('listen: 2222\ntarget: *host\n')).toEqual([
      'tunnelmux.yaml:2:9: is not valid YAML: Unresolved alias (the anchor must be set before the alias): host',
    ]);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level < 6; level++) {
      const prev = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      bomb.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    expect(problems(`${bomb.join('\n')}\n`)[0]).toMatch(
      /^tunnelmux\.yaml:2:\d+: is not valid YAML: Excessive alias count/,
    );
  });

  it('names an empty key instead of leaving the field blank', () => {
    expect(problems('"": 1\npaths: [{ id: a, provider: ssh }]\n')[0]).toMatch(
      /^tunnelmux\.yaml:1:1: "" is not a known field; expected one of /,
    );
    expect(problems('target: a:22\npaths: [{ id: a, provider: ssh, options: {} }]\nx.y: 1\n')[0]).toMatch(
      /^tunnelmux\.yaml:3:1: "x\.y" is not a known field/,
    );
  });
});

describe('the expose section', () => {
  it('expands into one expose path per provider, publishing the same local port', () => {
    const loaded = loadConfig(
      write(
        'expose.yaml',
        'expose:\n  port: 22\n  via: [cloudflare, ngrok]\n  options:\n    ngrok: { authtokenEnv: MY_TOKEN }\n',
      ),
    );
    expect(loaded.config.paths).toEqual([
      expect.objectContaining({
        id: 'cloudflare',
        provider: 'cloudflare',
        mode: 'expose',
        target: { host: '127.0.0.1', port: 22 },
        options: {},
      }),
      expect.objectContaining({
        id: 'ngrok',
        provider: 'ngrok',
        mode: 'expose',
        target: { host: '127.0.0.1', port: 22 },
        options: { authtokenEnv: MY_TOKEN_OPTIONS },
      }),
    ]);
    expect(loaded.optionsField(1)).toEqual(['expose', 'options', 'ngrok']);
  });

  it('needs paths or an expose section, and ids stay unique across both', () => {
    expect(problems('listen: 127.0.0.1:2222\n')).toEqual([
      'tunnelmux.yaml:1:1: paths is missing: list at least one path under paths, or add an expose section',
    ]);
    expect(
      problems(
        'target: a:22\npaths: [{ id: ngrok, provider: ngrok }]\nexpose: { port: 22, via: [ngrok] }\n',
      )[0],
    ).toMatch(
      /^tunnelmux\.yaml:3:\d+: expose\.via\.0 must be unique, got "ngrok" \(string\) which paths\.0\.id already uses/,
    );
    expect(problems('expose: { port: 0, via: [] }\n').join('\n')).toMatch(/expose\.port[\s\S]*expose\.via/);
  });
});

const MY_TOKEN_OPTIONS = 'MY_TOKEN';
