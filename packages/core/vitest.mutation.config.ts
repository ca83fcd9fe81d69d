import { defineConfig } from 'vitest/config';

// Only the tests that exercise the files `pnpm mutation` mutates (see stryker.config.mjs): the whole suite per
// mutant would take hours on two cores.
export default defineConfig({
  test: {
    include: [
      'src/front-door/**/*.test.ts',
      'src/failover/**/*.test.ts',
      'src/state/**/*.test.ts',
      'src/manager/manager.test.ts',
    ],
    testTimeout: 20_000,
  },
});
