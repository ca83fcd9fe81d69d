// Issues 6 and 19: start-up cost of the CLI. Median wall and CPU time of the commands that open no path
// (`--version`, `--help`, `providers --json`, `status --json` asking a running relay and `list` asking a running
// `up`, over their control sockets) against `node -e 0` in the same run, interleaved. Goals: each under 1.6x node,
// `status` under 2x.
// Commands import their modules lazily, so these must not load core's manager, zod or the YAML parser.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  freePort,
  HOST,
  main,
  ms,
  onCleanup,
  QUICK,
  ROOT,
  ratio,
  reporter,
  start,
  summarize,
} from './lib.js';

const NAME = 'cli-startup';
const RUNS = QUICK ? 5 : 21;
const BIN = path.join(ROOT, 'packages/cli/dist/bin.js');

/** Wall time of one run of `node args`, in ms; fails on a non-zero exit. */
function once(args, cwd, env) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${String(result.stderr).slice(0, 500)}`);
  }
  return elapsed;
}

/**
 * CPU time (user + system) of one run of `node args`, in ms, from bash's `time`: on a busy machine this moves far
 * less than wall time, which also counts the wait for a free core.
 */
function cpuOnce(args, cwd, env) {
  const result = spawnSync(
    'bash',
    ['-c', 'TIMEFORMAT="%3U %3S"; { time "$0" "$@" >/dev/null 2>&1; } 2>&1', process.execPath, ...args],
    { cwd, env, encoding: 'utf8', timeout: 30_000 },
  );
  const [user, system] = result.stdout.trim().split(/\s+/).map(Number);
  if (result.status !== 0 || !Number.isFinite(user + system)) {
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stdout.slice(0, 300)}`);
  }
  return (user + system) * 1000;
}

await main(NAME, 5 * 60_000, async () => {
  const report = reporter(NAME);
  report.title(`median of ${RUNS} runs each, interleaved`);
  if (!existsSync(BIN)) {
    console.error(
      `${NAME}: ${path.relative(ROOT, BIN)} is missing; build it: pnpm turbo run build --filter=@tunnelmux/cli...`,
    );
    process.exit(2);
  }
  // An empty folder and plugin home, so discovery looks only where a fresh user's CLI would.
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'tmx-bench-'));
  const env = { ...process.env, TUNNELMUX_HOME: path.join(cwd, 'home'), NO_COLOR: '1' };
  // A running instance to ask: a relay (it needs no tunnel tool), with its control socket in the scratch folder.
  const socket = path.join(cwd, 'relay.sock');
  once([BIN, 'keygen', path.join(cwd, 'session.key')], cwd, env);
  const relay = start(
    process.execPath,
    [
      BIN,
      'relay',
      `127.0.0.1:${await freePort()}`,
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--key-file',
      path.join(cwd, 'session.key'),
      '--socket',
      socket,
      '--json',
    ],
    { cwd, env },
  );
  onCleanup(() => relay.stop());
  // `list` needs an instance with paths (a relay has none): `up` with one path through testkit's local stand-in
  // provider to a loopback banner server.
  const target = net.createServer((client) => client.end('SSH-2.0-bench\r\n'));
  await new Promise((resolve) => target.listen(0, HOST, resolve));
  onCleanup(() => target.close());
  const plugin = path.join(cwd, 'local-provider.js');
  const testkit = pathToFileURL(path.join(ROOT, 'packages/testkit/dist/index.js')).href;
  writeFileSync(plugin, `export { localProvider as default } from ${JSON.stringify(testkit)};\n`);
  // Out of the scratch folder itself, where `providers` would find it and load the YAML parser.
  mkdirSync(path.join(cwd, 'up'));
  const config = path.join(cwd, 'up', 'tunnelmux.yaml');
  writeFileSync(
    config,
    [
      'name: bench',
      `listen: ${HOST}:0`,
      `target: ${HOST}:${target.address().port}`,
      'protocol: ssh',
      `plugins: [${JSON.stringify(plugin)}]`,
      'paths:',
      '  - { id: a, provider: local }',
      '',
    ].join('\n'),
  );
  const upSocket = path.join(cwd, 'up.sock');
  const up = start(process.execPath, [BIN, 'up', '--json', '--config', config, '--socket', upSocket], {
    cwd: path.dirname(config),
    env,
  });
  onCleanup(() => up.stop());
  await up.waitForLine(/"type":"ready"/, 30_000);
  for (let i = 0; i < 100 && !existsSync(socket); i += 1) await new Promise((r) => setTimeout(r, 100));
  const cases = {
    'node -e 0': ['-e', '0'],
    'tunnelmux --version': [BIN, '--version'],
    'tunnelmux --help': [BIN, '--help'],
    'tunnelmux providers --json': [BIN, 'providers', '--json'],
    'tunnelmux status --json (control socket)': [BIN, 'status', '--json', '--socket', socket],
    'tunnelmux list (control socket)': [BIN, 'list', '--socket', upSocket],
  };
  const times = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  const cpu = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  try {
    // One warm-up each (file cache), then rounds that alternate so machine load hits every case alike.
    for (const args of Object.values(cases)) once(args, cwd, env);
    for (let round = 0; round < RUNS; round++) {
      for (const [name, args] of Object.entries(cases)) {
        times[name].push(once(args, cwd, env));
        cpu[name].push(cpuOnce(args, cwd, env));
      }
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  const base = summarize(times['node -e 0']).p50;
  const cpuBase = summarize(cpu['node -e 0']).p50;
  for (const [name, values] of Object.entries(times)) {
    const stats = summarize(values);
    const cpuMs = summarize(cpu[name]).p50;
    report.figure(
      name,
      `wall median ${ms(stats.p50)}, p90 ${ms(stats.p90)}, ${ratio(stats.p50, base)} of node -e 0; CPU median ${ms(cpuMs)}, ${ratio(cpuMs, cpuBase)} of node -e 0`,
    );
  }
  // Each command's wall ratio against its goal, in one line: status over the control socket may take 2x.
  const verdicts = Object.keys(cases)
    .filter((name) => name !== 'node -e 0')
    .map((name) => {
      const goal = name.includes('status') ? 2 : 1.6;
      const wall = summarize(times[name]).p50 / base;
      return `${name.replace('tunnelmux ', '').replace(/ \(control socket\)/, '')} ${wall.toFixed(2)}x ${wall < goal ? 'met' : 'MISSED'}`;
    });
  report.note(
    `goal: --version, --help, providers and list under 1.60x of node -e 0, status over the control socket under 2.00x (wall): ${verdicts.join(', ')}`,
  );
});
