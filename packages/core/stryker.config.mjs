// @ts-check
import { createRequire } from 'node:module';

// Stryker and its runner are root dev dependencies; pnpm does not link them into this package.
const fromRoot = createRequire(new URL('../../package.json', import.meta.url));

// One group per run, each with its own incremental file: `MUTATION_GROUP=failover` (failover/ but the probe, and
// the state machine), `MUTATION_GROUP=probe` (the probe, against its own tests only: see
// vitest.mutation.config.ts) or `MUTATION_GROUP=front-door`; scripts/mutation.js runs them all.
const GROUPS = {
  failover: ['src/failover/*.ts', '!src/failover/probe.ts', 'src/state/transitions.ts'],
  probe: ['src/failover/probe.ts'],
  'front-door': ['src/front-door/*.ts'],
};
const group = process.env.MUTATION_GROUP ?? 'failover';
if (!(group in GROUPS))
  throw new Error(`MUTATION_GROUP must be one of ${Object.keys(GROUPS).join(', ')}, got "${group}"`);

/** Mutation testing of the front door, failover and the state machine (`pnpm mutation`; too slow for CI). */
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: [fromRoot.resolve('@stryker-mutator/vitest-runner')],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: [...GROUPS[/** @type {keyof typeof GROUPS} */ (group)], '!src/**/*.test.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  // TypeScript 7 has no JS API for Stryker's tsconfig rewrite, and the copy's `extends` would point nowhere:
  // leave tsconfig.json out of the sandbox, so vitest finds the package's own one above it.
  tsconfigFile: 'stryker-no-tsconfig.json',
  ignorePatterns: ['tsconfig.json', 'dist', 'reports', '.turbo'],
  timeoutMS: 20_000,
  incremental: true,
  incrementalFile: `reports/mutation/${group}-incremental.json`,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${group}.json` },
  htmlReporter: { fileName: `reports/mutation/${group}.html` },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
