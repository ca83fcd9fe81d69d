import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The browser stories start a real `tunnelmux up` and chromium: allow them a minute on a loaded machine.
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
