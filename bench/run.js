// Run every benchmark in sequence, each in its own Node process (so one's sockets, timers and memory never
// colour the next). `node bench/run.js [--quick] [name ...]`; extra names pick a subset.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ALL = [
  'failover-detection',
  'event-bus',
  'many-paths',
  'scaling',
  'throughput',
  'connect-latency',
  'failover-race',
  'sessions',
  'resume',
  'history-writes',
  'control-socket',
  // Owned by the CLI work; run when it is there.
  'cli-startup',
];
// Each script has its own watchdog; this one only catches a script that ignores it.
const LIMIT_MS = 12 * 60_000;

const flags = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
const picked = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const unknown = picked.filter((name) => !ALL.includes(name));
if (unknown.length > 0) {
  console.error(`error: unknown benchmark ${unknown.join(', ')}; expected some of ${ALL.join(', ')}`);
  process.exit(2);
}
const names = (picked.length > 0 ? picked : ALL).filter((name) => {
  const present = existsSync(path.join(here, `${name}.js`));
  if (!present) console.log(`bench: ${name}: skipped: bench/${name}.js is not there`);
  return present;
});

let current;
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    // The running script cleans up its own processes on SIGTERM; no further script starts.
    interrupted = true;
    current?.kill('SIGTERM');
    setTimeout(() => process.exit(130), 8000).unref();
  });
}

// Every script prints its goal beside its figure and anchor; they are repeated at the end, so one screen says
// which goals this run met.
const goals = [];
function keepGoals(name, stream) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (text) => {
    process.stdout.write(text);
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (/\bgoal\b/i.test(line)) goals.push({ name, line: line.trim() });
  });
}

const results = [];
for (const name of names) {
  if (interrupted) break;
  const t0 = performance.now();
  const code = await new Promise((resolve) => {
    current = spawn(process.execPath, [path.join(here, `${name}.js`), ...flags], {
      stdio: ['inherit', 'pipe', 'inherit'],
    });
    keepGoals(name, current.stdout);
    const timer = setTimeout(() => {
      console.error(`bench: ${name}: still running after ${LIMIT_MS / 60_000} min; stopping it`);
      current.kill('SIGTERM');
      setTimeout(() => current.kill('SIGKILL'), 10_000).unref();
    }, LIMIT_MS);
    current.once('exit', (exitCode, signal) => {
      clearTimeout(timer);
      resolve(exitCode ?? (signal ? 1 : 0));
    });
  });
  current = undefined;
  results.push({ name, code, seconds: (performance.now() - t0) / 1000 });
}

console.log('\n== bench: summary');
for (const { name, code, seconds } of results) {
  console.log(`bench: ${name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${seconds.toFixed(0)} s`);
}
if (goals.length > 0) {
  console.log('\n== bench: goals, each beside its figure and anchor in this run');
  for (const { line } of goals) console.log(line);
}
process.exit(interrupted ? 130 : results.some((result) => result.code !== 0) ? 1 : 0);
