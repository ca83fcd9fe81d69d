#!/usr/bin/env node
// `pnpm soak [--minutes N] [--seed S] [--out DIR]`: the chaos soak. Exits 0 when every check held, 1 otherwise.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freshSeed } from './random';
import { replayCommand, runSoak } from './run';
import { SOAK_ROOT } from './world';

const USAGE = 'usage: pnpm soak [--minutes N] [--seed S] [--out DIR] [--no-services]';

function fail(message: string): never {
  process.stderr.write(`[tunnelmux] [soak] ${message}\n${USAGE}\n`);
  process.exit(2);
}

let values: { minutes?: string; seed?: string; out?: string; 'no-services'?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'no-services': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help) {
  process.stdout.write(
    `${USAGE}\n\nRuns the real \`tunnelmux up\` under a seeded random fault plan and constant load, then checks for\ncorrupted bytes, failed connections while a path was healthy, resource growth and leftover processes.\n  --minutes N    how long (default 30; CI runs 2)\n  --seed S       the plan's seed, a whole number from 0 to 4294967295 (default: random, printed)\n  --out DIR      the run folder (default packages/soak/runs/<time>-<seed>)\n  --no-services  leave out the second service even when the CLI has services:\n`,
  );
  process.exit(0);
}
const minutes = values.minutes === undefined ? 30 : Number(values.minutes);
if (!Number.isFinite(minutes) || minutes < 1 || minutes > 24 * 60) {
  fail(`--minutes must be a number from 1 to 1440, got ${JSON.stringify(values.minutes)}`);
}
const seed = values.seed === undefined ? freshSeed() : Number(values.seed);
if (!Number.isInteger(seed) || seed < 0 || seed > 4294967295) {
  fail(`--seed must be a whole number from 0 to 4294967295, got ${JSON.stringify(values.seed)}`);
}
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = path.resolve(values.out ?? path.join(SOAK_ROOT, 'runs', `${stamp}-${seed}`));
const log = (line: string) => process.stdout.write(`[soak] ${line}\n`);
log(`seed ${seed}, ${minutes} min, run folder ${out}`);
log(`replay: ${replayCommand({ minutes, seed })}`);

// The whole run is bounded: the planned minutes plus time to start and stop.
const watchdog = setTimeout(
  () => {
    process.stderr.write(
      `[soak] FAILED: the run did not finish within its bound; seed ${seed}; replay: ${replayCommand({ minutes, seed })}\n`,
    );
    process.exit(1);
  },
  minutes * 60_000 + 5 * 60_000,
);
watchdog.unref();

try {
  const result = await runSoak({ minutes, seed, out, noServices: values['no-services'], log });
  for (const line of result.report) log(line);
  log(`summary ${path.join(out, 'summary.json')}, chart ${path.join(out, 'chart.svg')}`);
  if (!result.ok) {
    // On stdout, after the report: a CI log's last lines then say why, not only that it failed.
    process.stdout.write(
      `[soak] FAILED (seed ${seed}):\n${result.failures.map((f) => `  - ${f}`).join('\n')}\n[soak] replay: ${replayCommand({ minutes, seed })}\n`,
    );
    process.exit(1);
  }
  log('PASSED');
  process.exit(0);
} catch (error) {
  process.stderr.write(
    `[soak] FAILED (seed ${seed}): ${(error as Error).stack ?? error}\n[soak] replay: ${replayCommand({ minutes, seed })}\n`,
  );
  process.exit(1);
}
