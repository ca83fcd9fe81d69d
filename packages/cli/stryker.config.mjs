// @ts-check
import { createRequire } from 'node:module';

// Stryker and its runner are root dev dependencies; pnpm does not link them into this package.
const fromRoot = createRequire(new URL('../../package.json', import.meta.url));

/** Mutation testing of the config loader (`pnpm mutation`; too slow for CI). */
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: [fromRoot.resolve('@stryker-mutator/vitest-runner')],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: ['src/config/load.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  // TypeScript 7 has no JS API for Stryker's tsconfig rewrite, and the copy's `extends` would point nowhere:
  // leave tsconfig.json out of the sandbox, so vitest finds the package's own one above it.
  tsconfigFile: 'stryker-no-tsconfig.json',
  ignorePatterns: ['tsconfig.json', 'dist', 'reports', '.turbo'],
  timeoutMS: 20_000,
  incremental: true,
  incrementalFile: 'reports/mutation/cli-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/cli.json' },
  htmlReporter: { fileName: 'reports/mutation/cli.html' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
