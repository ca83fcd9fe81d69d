// @ts-check
/**
 * Mutation testing of the reaper. Its tests run it in a child process, which the vitest runner cannot switch
 * mutants in; the command runner passes the active mutant in the environment, which children inherit.
 */
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  commandRunner: { command: 'pnpm exec vitest run --config vitest.reaper.config.ts' },
  mutate: ['src/process/reaper.ts'],
  coverageAnalysis: 'off',
  concurrency: 1,
  // TypeScript 7 has no JS API for Stryker's tsconfig rewrite, and the copy's `extends` would point nowhere:
  // leave tsconfig.json out of the sandbox, so vitest finds the package's own one above it.
  tsconfigFile: 'stryker-no-tsconfig.json',
  ignorePatterns: ['tsconfig.json', 'dist', 'reports', '.turbo'],
  timeoutMS: 20_000,
  // The command runner reports one test ("All tests"), so an incremental run could not see changed tests.
  incremental: false,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/reaper.json' },
  htmlReporter: { fileName: 'reports/mutation/reaper.html' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
