import { defineConfig } from 'vitest/config';

// Only the tests that exercise the file `pnpm mutation` mutates (see stryker.config.mjs).
export default defineConfig({
  test: {
    include: ['src/config/load*.test.ts', 'src/config/json-schema*.test.ts', 'src/config/schema.test.ts'],
    testTimeout: 60_000,
  },
});
