import { defineConfig } from 'vitest/config';

// The reaper's tests, alone: `pnpm mutation` runs them for each reaper mutant (stryker.reaper.config.mjs).
export default defineConfig({ test: { include: ['src/process/reaper.test.ts'], testTimeout: 20_000 } });
