import { defineConfig } from 'vitest/config';

// Only the tests that exercise the files `pnpm mutation` mutates (see stryker.config.mjs): the whole suite per
// mutant would take hours on two cores.
// The probe group runs the probe's own tests alone: the manager's also reach every probe mutant, at seconds each.
export default defineConfig({
  test: {
    include:
      process.env.MUTATION_GROUP === 'probe'
        ? ['src/failover/probe.test.ts']
        : [
            'src/front-door/**/*.test.ts',
            'src/failover/**/*.test.ts',
            'src/state/**/*.test.ts',
            'src/manager/manager.test.ts',
          ],
    testTimeout: 20_000,
  },
});
